/**
 * Where backfill and reconcile read the S3 side from: the bucket listing (the
 * default) or, with `--manifest s3://.../manifest.json`, an S3 Inventory (core's
 * `Inventory`), read with an S3 client built from the same settings as the store.
 *
 * @since 0.2.0
 */
import { S3Client } from "@aws-sdk/client-s3"
import * as DocketConfig from "@docket/core/DocketConfig"
import type * as DocumentStore from "@docket/core/DocumentStore"
import * as Inventory from "@docket/core/Inventory"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

/** The S3 side of a run, when it is not the listing. */
export interface Source {
  readonly kind: "inventory"
  readonly objects: Stream.Stream<DocumentStore.ObjectInfo, Inventory.InventoryError>
}

/** The inventory behind `--manifest`, or `undefined` for the bucket listing. */
export const fromManifest = (
  manifest: Option.Option<string>,
): Effect.Effect<Source | undefined, Inventory.InventoryError, DocketConfig.DocketConfig> =>
  Effect.gen(function* () {
    if (Option.isNone(manifest)) return undefined
    const url = manifest.value
    yield* Inventory.parseLocation(url)
    const settings = yield* DocketConfig.DocketConfig
    // The client lives as long as the stream is read.
    const client = Effect.acquireRelease(
      Effect.sync(
        () =>
          new S3Client({
            region: settings.region,
            ...(Option.isSome(settings.s3Endpoint)
              ? { endpoint: settings.s3Endpoint.value, forcePathStyle: true }
              : {}),
          }),
      ),
      (c) => Effect.sync(() => c.destroy()),
    )
    return {
      kind: "inventory" as const,
      objects: Stream.unwrapScoped(
        Effect.map(client, (c) => Inventory.objects(url, Inventory.s3Reader(c), { prefix: settings.prefix })),
      ),
    }
  })

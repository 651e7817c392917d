/**
 * The S3 store's listing (`ListObjectsV2` page by page, as a `Stream`), apart
 * from the other steps in `s3Steps.ts` so that a store built without it (the
 * Lambda's S3-event runtime, `documentsOnly`) loads no `Stream`. `DocumentStore/S3.ts`
 * imports it (through `internal/streams.ts`) when it builds a store that lists.
 */
import { ListObjectsV2Command } from "@aws-sdk/client-s3"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { ObjectInfo } from "../DocumentStore.js"
import { normalizeEtag } from "./objectCodec.js"
import { sendWith, toStoreError } from "./s3Client.js"
import { call, type S3Store } from "./s3Steps.js"

/** Every object under the store's prefix (and `prefix`), in key order, after `startAfter`. */
export const list = (s3: S3Store, listOptions: { readonly prefix?: string; readonly startAfter?: string } = {}) => {
  const listPrefix = s3.prefix + (listOptions.prefix ?? "")
  type Cursor = { readonly token?: string; readonly startAfter?: string }
  const first: Cursor = listOptions.startAfter !== undefined ? { startAfter: listOptions.startAfter } : {}
  return Stream.paginateChunkEffect(first, (cursor) =>
    call(
      s3,
      "ListObjectsV2",
      listPrefix,
      (controller) =>
        sendWith(controller, (abortSignal) =>
          s3.client.send(
            new ListObjectsV2Command({
              Bucket: s3.bucket,
              Prefix: listPrefix,
              MaxKeys: s3.pageSize,
              ...(cursor.token !== undefined ? { ContinuationToken: cursor.token } : {}),
              ...(cursor.startAfter !== undefined ? { StartAfter: cursor.startAfter } : {}),
            }),
            { abortSignal },
          ),
        ).pipe(Effect.mapError(toStoreError("ListObjectsV2", listPrefix))),
      (out) => ({ count: out.KeyCount ?? out.Contents?.length ?? 0 }),
    ).pipe(
      Effect.map((out) => {
        const items = (out.Contents ?? []).flatMap(
          (o): Array<ObjectInfo> =>
            o.Key === undefined
              ? []
              : [
                  {
                    key: o.Key,
                    etag: normalizeEtag(o.ETag),
                    size: o.Size ?? 0,
                    lastModified: o.LastModified,
                    metadata: Option.none(),
                  },
                ],
        )
        const next: Option.Option<Cursor> =
          out.IsTruncated === true && out.NextContinuationToken !== undefined
            ? Option.some({ token: out.NextContinuationToken })
            : Option.none()
        return [Chunk.unsafeFromArray(items), next] as const
      }),
    ),
  )
}

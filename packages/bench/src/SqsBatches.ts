/**
 * The SQS batches of S3 `ObjectCreated:Put` notifications that the event-sync scenario and
 * the `canned-sync` profile feed the Lambda handlers: SQS records and S3 notifications with
 * every field AWS sends (the Powertools parser requires them), each record with a fresh,
 * higher sequencer than any before it from the same maker.
 */
export const maker = (bucket: string, batchSize: number) => {
  let sequencer = 0x1000
  return (keys: ReadonlyArray<string>): Array<unknown> => {
    const out: Array<unknown> = []
    for (let i = 0; i < keys.length; i += batchSize) {
      out.push({
        Records: keys.slice(i, i + batchSize).map((key, j) => ({
          messageId: `m-${sequencer}-${j}`,
          receiptHandle: `rh-${sequencer}-${j}`,
          attributes: {
            ApproximateReceiveCount: "1",
            ApproximateFirstReceiveTimestamp: "1764547200000",
            SenderId: "AIDAEXAMPLE",
            SentTimestamp: "1764547200000",
          },
          messageAttributes: {},
          md5OfBody: "0".repeat(32),
          eventSource: "aws:sqs",
          eventSourceARN: "arn:aws:sqs:us-east-1:123456789012:docket-events",
          awsRegion: "us-east-1",
          body: JSON.stringify({
            Records: [
              {
                eventVersion: "2.1",
                eventSource: "aws:s3",
                awsRegion: "us-east-1",
                eventTime: new Date().toISOString(),
                eventName: "ObjectCreated:Put",
                userIdentity: { principalId: "AWS:AIDAEXAMPLE" },
                requestParameters: { sourceIPAddress: "127.0.0.1" },
                responseElements: { "x-amz-request-id": "REQ", "x-amz-id-2": "ID2" },
                s3: {
                  s3SchemaVersion: "1.0",
                  configurationId: "docket-sync",
                  bucket: { name: bucket, ownerIdentity: { principalId: "OWNER" }, arn: `arn:aws:s3:::${bucket}` },
                  object: { key, size: 900, eTag: "etag", sequencer: (sequencer++).toString(16).toUpperCase() },
                },
              },
            ],
          }),
        })),
      })
    }
    return out
  }
}

/**
 * The DynamoDB SDK pieces the `table` commands use, in a module of their own so
 * that `Handlers` imports them only when such a command runs (a dynamic import of
 * the SDK's CommonJS entry itself loses its named exports in the ESM bundle).
 *
 * @since 0.1.0
 */
export {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb"

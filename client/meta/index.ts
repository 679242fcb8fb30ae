/** The metadata client (DESIGN §2 `client/meta/`): MetaClient and its parts. */
export { MetaClient, type MetaClientOptions } from './meta-client.js';
export { MetaRouter, METASERVER_IDEMPOTENT_METHODS, type Target, type MetaServerClient } from './meta-router.js';
export { PartitionTable, type PartitionRoute } from './partition-table.js';
export { MountSession } from './mount-session.js';
export { TxResolver } from './tx-resolver.js';
export { RenameTx } from './rename-tx.js';
export { ChunkInfoClient } from './chunk-info-client.js';
export { ChunkIdReserve, CHUNK_ID_BATCH_DEFAULT } from './chunk-id-reserve.js';

/** An MDS client for the tools: follows the leader, and turns a non-OK reply into an error naming the status. */
import { MetaError } from '../src/common/errors.js';
import { MetaStatusCode } from '../src/common/meta-status.js';
import { mdsService, type MdsMethods } from '../src/proto/index.js';
import { RpcClient, type RequestOf, type ResponseOf } from '../src/rpc/index.js';

export const TOOL_TIMEOUT_MS = 5_000;
export const TOOL_TOTAL_TIMEOUT_MS = 15_000;

export class MdsToolClient {
  private readonly client: RpcClient<MdsMethods>;

  constructor(addresses: readonly string[]) {
    this.client = new RpcClient(mdsService(), {
      addresses,
      timeoutMs: TOOL_TIMEOUT_MS,
      totalTimeoutMs: TOOL_TOTAL_TIMEOUT_MS,
      idempotentMethods: ['GetFsInfo', 'ListFs', 'ListTopology', 'ClusterStatus', 'ListPartition'],
    });
  }

  async call<K extends keyof MdsMethods & string>(method: K, request: Partial<RequestOf<MdsMethods, K>>): Promise<ResponseOf<MdsMethods, K>> {
    const reply = (await this.client.call(method, request as never)) as ResponseOf<MdsMethods, K> & {
      status: MetaStatusCode;
      errorMessage?: string;
    };
    if (reply.status !== MetaStatusCode.OK) {
      const name = MetaStatusCode[reply.status] ?? String(reply.status);
      throw new MetaError(reply.status, `${method}: ${name}${reply.errorMessage ? `: ${reply.errorMessage}` : ''}`);
    }
    return reply;
  }

  /** The address the last call reached (the leader after redirects). */
  leaderAddress(): string {
    return this.client.leaderAddress();
  }

  close(): void {
    this.client.close();
  }
}

export async function withMds<T>(addresses: readonly string[], body: (mds: MdsToolClient) => Promise<T>): Promise<T> {
  const mds = new MdsToolClient(addresses);
  try {
    return await body(mds);
  } finally {
    mds.close();
  }
}

export function parseAddressList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * Frames proposal bytes with the proposer's id so the node that proposed an
 * entry can find its waiting promise when the entry is applied:
 *
 *   u32 LE incarnation | u32 LE sequence | payload
 *
 * `incarnation` is random per RaftNode instance, so entries proposed before
 * a restart can never match a promise of the new instance. Entries with no
 * data are the leader's no-ops and carry no frame.
 */
import { assert } from '../../common/assert.js';

export const PROPOSAL_HEADER_BYTES = 8;

export function frameProposal(incarnation: number, sequence: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(PROPOSAL_HEADER_BYTES + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, incarnation >>> 0, true);
  view.setUint32(4, sequence >>> 0, true);
  out.set(payload, PROPOSAL_HEADER_BYTES);
  return out;
}

export interface ProposalFrame {
  readonly incarnation: number;
  /** Unique per proposal of one node instance (wraps after 2^32). */
  readonly sequence: number;
  readonly payload: Uint8Array;
}

export function unframeProposal(data: Uint8Array): ProposalFrame {
  assert(data.length >= PROPOSAL_HEADER_BYTES, `proposal entry shorter than its header: ${data.length}`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { incarnation: view.getUint32(0, true), sequence: view.getUint32(4, true), payload: data.subarray(PROPOSAL_HEADER_BYTES) };
}

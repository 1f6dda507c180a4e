// The zod building blocks shared by the wire schemas: every field a peer sends is bounded here.
import { type Address, getAddress, type Hex } from 'viem';
import { z } from 'zod';
import type { TaskArgs } from '../chain/bindings/types.ts';

export const hex32 = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, 'expected 0x and 64 hex digits')
  .transform((s) => s.toLowerCase() as Hex);

export const hexBytes = (maxBytes: number) =>
  z
    .string()
    .max(2 + 2 * maxBytes)
    .regex(/^0x([0-9a-fA-F]{2})*$/, 'expected 0x-prefixed hex bytes')
    .transform((s) => s as Hex);

/** An address, checksummed on the way in so that comparisons are exact. */
export const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, 'expected 0x and 40 hex digits')
  .transform((s) => getAddress(s) as Address);

/** An unsigned integer of at most `bits` bits, as a decimal string (JSON has no bigint). */
export const uintString = (bits: number) =>
  z
    .string()
    .regex(/^(0|[1-9][0-9]{0,77})$/, 'expected a decimal unsigned integer')
    .transform((s) => BigInt(s))
    .refine((v) => v < 1n << BigInt(bits), `expected below 2^${bits}`);

export const chainId = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
export const index = (max: number) => z.number().int().min(0).max(max);
export const shortText = (max: number) => z.string().max(max);

/** TaskArgs on the wire (bigints as decimal strings). */
export const taskSchema = z.object({
  requester: address,
  modelRoot: hex32,
  inputRoot: hex32,
  feeToken: address,
  fee: uintString(256),
  takeDeadline: uintString(64),
  consumer: address,
  callbackGasLimit: z.number().int().min(0).max(0xffffffff),
  salt: hex32,
});

export type TaskJson = z.input<typeof taskSchema>;

export function taskToJson(task: TaskArgs): TaskJson {
  return { ...task, fee: task.fee.toString(), takeDeadline: task.takeDeadline.toString() };
}

export function taskFromJson(json: z.output<typeof taskSchema>): TaskArgs {
  return json;
}

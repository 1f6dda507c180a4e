// Helpers of the ModelRegistry tests: descriptors to tamper with, publisher claims, reverts with
// their arguments.
import assert from 'node:assert/strict';
import type { Hex } from 'viem';
import type { modelDescriptorOf } from '../../src/chain/bindings/commitments.ts';
import { revertErrorArgs, revertErrorName } from '../../src/chain/bindings/errors.ts';
import { ZERO_BYTES32 } from '../../src/chain/bindings/types.ts';

export type Descriptor = ReturnType<typeof modelDescriptorOf>;

/** A deep copy of `d` changed by `change`, so that each case starts from the valid descriptor. */
export function mutated(d: Descriptor, change: (d: Descriptor) => void): Descriptor {
  const copy = structuredClone(d);
  change(copy);
  return copy;
}

/** A change that sets the field at a dotted path, e.g. `set('ops.2.output', 5n)`. */
export function set(path: string, value: unknown): (d: Descriptor) => void {
  return (d) => {
    const keys = path.split('.');
    let node = d as unknown as Record<string, unknown>;
    for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
    node[keys[keys.length - 1]] = value;
  };
}

// Addresses decode checksummed and hex in any case; compare them case-blind.
const normalized = (args: readonly unknown[]) =>
  args.map((a) => (typeof a === 'string' ? a.toLowerCase() : a));

export function infoOf(name: string, version = '1', parent: Hex = ZERO_BYTES32) {
  return { name, version, parent, dataId: ZERO_BYTES32, uri: `vrnf://${name}/${version}` };
}

/** Asserts that `action` reverts with the custom error `name` and, if given, exactly `args`. */
export async function expectRevertWith(
  action: () => Promise<unknown>,
  name: string,
  args?: readonly unknown[],
) {
  try {
    await action();
  } catch (err) {
    const got = revertErrorName(err);
    assert.equal(got, name, `expected revert ${name}, got ${got ?? String(err).slice(0, 400)}`);
    if (args)
      assert.deepEqual(normalized(revertErrorArgs(err) ?? []), normalized(args), `arguments of ${name}`);
    return;
  }
  assert.fail(`expected revert ${name}, but the call succeeded`);
}

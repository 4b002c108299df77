/**
 * The assertions the tests use. JSR's @std/assert cannot be installed from the registries our
 * machines reach, so these small ones stand in, with the same names and meaning.
 */
import { inspect, isDeepStrictEqual } from "node:util";

export class AssertionError extends Error {
  override name = "AssertionError";
}

export function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new AssertionError(msg);
}

export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new AssertionError(
      `${msg ? msg + ": " : ""}values differ\nactual:   ${inspect(actual, { depth: 6 })}\n` +
        `expected: ${inspect(expected, { depth: 6 })}`,
    );
  }
}

export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  if (isDeepStrictEqual(actual, expected)) {
    throw new AssertionError(`${msg ? msg + ": " : ""}values are equal: ${inspect(actual)}`);
  }
}

export function assertAlmostEquals(actual: number, expected: number, tol = 1e-7, msg?: string) {
  if (!(Math.abs(actual - expected) <= tol)) {
    throw new AssertionError(
      `${msg ? msg + ": " : ""}${actual} is not within ${tol} of ${expected}`,
    );
  }
}

export function assertThrows(fn: () => unknown, match?: RegExp | string): Error {
  try {
    fn();
  } catch (e) {
    const err = e as Error;
    if (match && !new RegExp(match).test(err.message)) {
      throw new AssertionError(
        `error message ${JSON.stringify(err.message)} does not match ${match}`,
      );
    }
    return err;
  }
  throw new AssertionError("expected the function to throw");
}

export async function assertRejects(fn: () => Promise<unknown>, match?: RegExp | string) {
  try {
    await fn();
  } catch (e) {
    const err = e as Error;
    if (match && !new RegExp(match).test(err.message)) {
      throw new AssertionError(
        `error message ${JSON.stringify(err.message)} does not match ${match}`,
      );
    }
    return err;
  }
  throw new AssertionError("expected the promise to reject");
}

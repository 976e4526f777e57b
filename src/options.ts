// Options as data: each kind (layer, loss, optimizer) declares its options once — default and rule — and
// construction, validation, serialization and the worker protocol all read that declaration. Errors name
// the owner and option, what was expected and what came.
import { BackpropError, describeValue } from './errors.js';

/** One option: its default (undefined: none, the option may be left out), its check, and what it takes
 *  (for documentation and for tests that try every kind with options of every allowed shape). */
export interface OptionSpec<T> {
  readonly default: T;
  /** Returns the value, or throws BAD_OPTION naming `name`. */
  check(value: unknown, name: string): T;
  readonly takes: OptionShape;
}

export type OptionShape =
  | { readonly type: 'number'; readonly rule: NumberRule }
  | { readonly type: 'boolean' }
  | { readonly type: 'oneOf'; readonly values: readonly string[] }
  | { readonly type: 'pair'; readonly rule: NumberRule }
  | { readonly type: 'floatArray' }
  | { readonly type: 'instance'; readonly name: string };

export type OptionSpecs<O> = { readonly [K in keyof O]-?: OptionSpec<O[K]> };

/** Rejects option keys an owner does not know, so typos do not pass silently. */
export function checkOptionKeys(options: unknown, allowed: readonly string[], owner: string): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new BackpropError('BAD_OPTION', `expected ${owner} options to be an object, got ${describeValue(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new BackpropError(
        'BAD_OPTION',
        `unknown ${owner} option "${key}"; expected ${allowed.length ? `one of ${allowed.join(', ')}` : 'no options'}`,
      );
    }
  }
}

/** Every option of `specs` from `given` (unknown keys refused), defaults filled in, each checked. */
export function readOptions<O>(owner: string, specs: OptionSpecs<O>, given: unknown = {}): O {
  checkOptionKeys(given, Object.keys(specs), owner);
  const values = given as Record<string, unknown>;
  const out = {} as Record<string, unknown>;
  for (const [key, spec] of Object.entries(specs) as [string, OptionSpec<unknown>][]) {
    const value = values[key] === undefined ? spec.default : values[key];
    out[key] = value === undefined ? undefined : spec.check(value, `${owner} ${key}`);
  }
  return out as O;
}

function refuse(name: string, expected: string, value: unknown): never {
  throw new BackpropError('BAD_OPTION', `expected ${name} to be ${expected}, got ${describeValue(value)}`);
}

export interface NumberRule {
  /** Inclusive bounds. */
  min?: number;
  max?: number;
  /** Exclusive bounds. */
  above?: number;
  below?: number;
  integer?: boolean;
}

function ruleText(rule: NumberRule): string {
  const parts: string[] = [];
  const low = rule.min !== undefined ? `${rule.min}` : rule.above !== undefined ? `${rule.above}` : null;
  const high = rule.max !== undefined ? `${rule.max}` : rule.below !== undefined ? `${rule.below}` : null;
  if (low !== null && high !== null) {
    parts.push(`in ${rule.min !== undefined ? '[' : '('}${low}, ${high}${rule.max !== undefined ? ']' : ')'}`);
  } else if (low !== null) {
    parts.push(rule.min !== undefined ? `≥ ${low}` : `> ${low}`);
  } else if (high !== null) {
    parts.push(rule.max !== undefined ? `≤ ${high}` : `< ${high}`);
  }
  return parts.join(' ');
}

function checkNumber(value: unknown, name: string, rule: NumberRule): number {
  const kind = rule.integer ? 'an integer' : 'a finite number';
  const text = `${kind}${ruleText(rule) ? ` ${ruleText(rule)}` : ''}`;
  if (typeof value !== 'number' || !Number.isFinite(value) || (rule.integer && !Number.isInteger(value)))
    refuse(name, text, value);
  const v = value as number;
  if (
    (rule.min !== undefined && v < rule.min) ||
    (rule.max !== undefined && v > rule.max) ||
    (rule.above !== undefined && v <= rule.above) ||
    (rule.below !== undefined && v >= rule.below)
  ) {
    refuse(name, text, value);
  }
  return v;
}

/** A finite number (an integer with `integer`) within the rule's bounds. */
export function number(defaultValue: number, rule: NumberRule = {}): OptionSpec<number> {
  return { default: defaultValue, check: (value, name) => checkNumber(value, name, rule), takes: { type: 'number', rule } };
}

/** A number option that may be left out (no default). */
export function optionalNumber(rule: NumberRule = {}): OptionSpec<number | undefined> {
  return { default: undefined, check: (value, name) => checkNumber(value, name, rule), takes: { type: 'number', rule } };
}

export function boolean(defaultValue: boolean): OptionSpec<boolean> {
  return {
    default: defaultValue,
    check: (value, name) => (typeof value === 'boolean' ? value : refuse(name, 'a boolean', value)),
    takes: { type: 'boolean' },
  };
}

export function oneOf<T extends string>(values: readonly T[], defaultValue: T): OptionSpec<T> {
  return {
    default: defaultValue,
    check: (value, name) =>
      values.includes(value as T) ? (value as T) : refuse(name, `one of ${values.map((v) => `'${v}'`).join(', ')}`, value),
    takes: { type: 'oneOf', values },
  };
}

/** A pair of numbers, each within `rule` (Adam's betas). */
export function pair(defaultValue: readonly [number, number], rule: NumberRule): OptionSpec<readonly [number, number]> {
  return {
    default: defaultValue,
    check(value, name) {
      if (!Array.isArray(value) || value.length !== 2) refuse(name, '[beta1, beta2], two numbers', value);
      const [a, b] = value as unknown[];
      return Object.freeze([checkNumber(a, `${name}[0]`, rule), checkNumber(b, `${name}[1]`, rule)] as const);
    },
    takes: { type: 'pair', rule },
  };
}

/** Finite float32 numbers (a Float32Array or number[]), copied; e.g. per-class loss weights. */
export function floatArray(): OptionSpec<Float32Array | undefined> {
  return {
    default: undefined,
    check(value, name) {
      const ok = value instanceof Float32Array || value instanceof Float64Array || (Array.isArray(value) && value.length > 0);
      if (!ok) refuse(name, 'a Float32Array (or number[]) of finite numbers', value);
      const values = value as ArrayLike<unknown>;
      const out = new Float32Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (typeof v !== 'number' || !Number.isFinite(Math.fround(v))) {
          throw new BackpropError(
            'NON_FINITE',
            `expected ${name} to hold finite float32 numbers, got ${describeValue(v)} at ${name}[${i}]`,
          );
        }
        out[i] = v;
      }
      return out;
    },
    takes: { type: 'floatArray' },
  };
}

/** An instance of a class (e.g. a Generator), or left out. */
export function instance<T>(type: abstract new (...args: never[]) => T, typeName: string): OptionSpec<T | undefined> {
  return {
    default: undefined,
    check: (value, name) => (value instanceof type ? value : refuse(name, `a ${typeName}`, value)),
    takes: { type: 'instance', name: typeName },
  };
}

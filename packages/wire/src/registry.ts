import type { ValueCodec } from './codecs.js';
import { WireError } from './errors.js';
import { checkUint } from './internal/bytes.js';
import { MAX_TYPE, type XppOption } from './message.js';

/** What an upper layer declares to add an option type to XPP. */
export interface OptionDefinition<T> {
  /** 15-bit type. */
  readonly type: number;
  /** Upper-case name as in the spec's tables, e.g. `RETRY-AFTER`. */
  readonly name: string;
  readonly codec: ValueCodec<T>;
  /** Whether a message may carry the option more than once. Default false. */
  readonly repeatable?: boolean;
}

/** A registered option type: builds and reads options of that type with its typed codec. */
export class OptionType<T> {
  readonly type: number;
  readonly name: string;
  readonly repeatable: boolean;
  readonly codec: ValueCodec<T>;

  constructor(definition: OptionDefinition<T>) {
    checkUint(definition.type, MAX_TYPE, `option type of ${definition.name}`);
    this.type = definition.type;
    this.name = definition.name;
    this.codec = definition.codec;
    this.repeatable = definition.repeatable ?? false;
  }

  /** An option of this type carrying `value`; `mandatory` sets the M bit. */
  option(value: T, mandatory = false): XppOption {
    return { type: this.type, mandatory, value: this.codec.encode(value) };
  }

  /** The typed value of `option` (which must be of this type). */
  decode(option: XppOption): T {
    return this.codec.decode(option.value);
  }

  /** The value of the first option of this type, or undefined. */
  find(options: readonly XppOption[]): T | undefined {
    for (const option of options) if (option.type === this.type) return this.codec.decode(option.value);
    return undefined;
  }

  /** The value of the first option of this type; `MISSING_OPTION` when there is none. */
  require(options: readonly XppOption[]): T {
    for (const option of options) if (option.type === this.type) return this.codec.decode(option.value);
    throw new WireError('MISSING_OPTION', `required option ${this.name} (0x${hex4(this.type)}) is absent`);
  }

  /** The values of every option of this type, in order. */
  findAll(options: readonly XppOption[]): T[] {
    const out: T[] = [];
    for (const option of options) if (option.type === this.type) out.push(this.codec.decode(option.value));
    return out;
  }
}

/** What an upper layer declares to add an operation type. */
export interface OperationDefinition {
  readonly type: number;
  readonly name: string;
}

function hex4(type: number): string {
  return type.toString(16).padStart(4, '0');
}

/**
 * The option and operation types an endpoint knows. Upper packages add theirs with `defineOption` /
 * `defineOperation` at import time, without editing this package. Defining the same type again under the same
 * name returns the existing definition (a package may be loaded twice); another name is a `REGISTRY_CONFLICT`.
 */
export class Registry {
  readonly #options = new Map<number, OptionType<unknown>>();
  readonly #operations = new Map<number, OperationDefinition>();

  defineOption<T>(definition: OptionDefinition<T>): OptionType<T> {
    const existing = this.#options.get(definition.type);
    if (existing !== undefined) {
      if (existing.name !== definition.name) {
        throw new WireError(
          'REGISTRY_CONFLICT',
          `option type 0x${hex4(definition.type)} is ${existing.name}, cannot define it as ${definition.name}`,
        );
      }
      return existing as OptionType<T>;
    }
    const created = new OptionType(definition);
    this.#options.set(created.type, created as OptionType<unknown>);
    return created;
  }

  defineOperation(definition: OperationDefinition): OperationDefinition {
    checkUint(definition.type, MAX_TYPE, `operation type of ${definition.name}`);
    const existing = this.#operations.get(definition.type);
    if (existing !== undefined) {
      if (existing.name !== definition.name) {
        throw new WireError(
          'REGISTRY_CONFLICT',
          `operation type 0x${hex4(definition.type)} is ${existing.name}, cannot define it as ${definition.name}`,
        );
      }
      return existing;
    }
    const created = Object.freeze({ type: definition.type, name: definition.name });
    this.#operations.set(created.type, created);
    return created;
  }

  option(type: number): OptionType<unknown> | undefined {
    return this.#options.get(type);
  }

  operation(type: number): OperationDefinition | undefined {
    return this.#operations.get(type);
  }

  /**
   * The distinct types of mandatory options this registry does not know, in order of appearance: a request
   * carrying any must be refused with error 420 listing them in UNKNOWN-OPTIONS (spec §3).
   */
  unknownMandatory(options: readonly XppOption[]): number[] {
    let unknown: number[] | undefined;
    for (const option of options) {
      if (option.mandatory && !this.#options.has(option.type)) {
        unknown ??= [];
        if (!unknown.includes(option.type)) unknown.push(option.type);
      }
    }
    return unknown ?? [];
  }

  /** A new registry with the same definitions, for an endpoint that adds types of its own in isolation. */
  clone(): Registry {
    const copy = new Registry();
    for (const [type, option] of this.#options) copy.#options.set(type, option);
    for (const [type, operation] of this.#operations) copy.#operations.set(type, operation);
    return copy;
  }
}

import { describe, expect, it } from 'vitest';
import {
  defaultRegistry,
  ErrorCode,
  fromHex,
  Operation,
  Option,
  Registry,
  u16Codec,
  utf8Codec,
  WireError,
  type XppOption,
} from '@xpp/wire';
import { codeOf } from './helpers.js';

describe('base option types', () => {
  it('ERROR carries a code and a UTF-8 reason', () => {
    const option = Option.ERROR.option({ code: ErrorCode.OVERLOADED, reason: 'übervoll' });
    expect(option.type).toBe(1);
    expect(Option.ERROR.decode(option)).toEqual({ code: 503, reason: 'übervoll' });
    expect(codeOf(() => Option.ERROR.decode({ type: 1, mandatory: false, value: Uint8Array.of(1) }))).toBe(
      'BAD_VALUE',
    );
    expect(codeOf(() => Option.ERROR.decode({ type: 1, mandatory: false, value: fromHex('01f4ff') }))).toBe(
      'BAD_VALUE',
    );
  });

  it('UNKNOWN-OPTIONS is a list of u16 types', () => {
    expect(Option.UNKNOWN_OPTIONS.decode(Option.UNKNOWN_OPTIONS.option([0x7001, 0x0100]))).toEqual([
      0x7001, 0x0100,
    ]);
    expect(
      codeOf(() => Option.UNKNOWN_OPTIONS.decode({ type: 2, mandatory: false, value: Uint8Array.of(1) })),
    ).toBe('LENGTH_MISMATCH');
  });

  it('RETRY-AFTER and SIZE are exactly four octets', () => {
    expect(Option.RETRY_AFTER.decode(Option.RETRY_AFTER.option(0xffffffff))).toBe(0xffffffff);
    expect(
      codeOf(() => Option.SIZE.decode({ type: 5, mandatory: false, value: Uint8Array.of(0, 0, 1) })),
    ).toBe('LENGTH_MISMATCH');
    expect(codeOf(() => Option.SIZE.option(-1))).toBe('INVALID_FIELD');
  });

  it('finds the first, all, or a required option by type', () => {
    const options: XppOption[] = [
      Option.DATA.option(Uint8Array.of(1)),
      Option.SIZE.option(9),
      Option.DATA.option(Uint8Array.of(2)),
    ];
    expect([...(Option.DATA.find(options) ?? [])]).toEqual([1]);
    expect(Option.DATA.findAll(options).map((v) => [...v])).toEqual([[1], [2]]);
    expect(Option.SIZE.require(options)).toBe(9);
    expect(Option.RETRY_AFTER.find(options)).toBeUndefined();
    expect(codeOf(() => Option.RETRY_AFTER.require(options))).toBe('MISSING_OPTION');
  });

  it('knows the base operations', () => {
    expect(defaultRegistry.operation(1)).toBe(Operation.PING);
    expect(defaultRegistry.operation(2)?.name).toBe('ECHO-SIZE');
  });
});

describe('registry extension by upper packages', () => {
  it('defines new option and operation types without touching the base', () => {
    const registry = defaultRegistry.clone();
    const zone = registry.defineOption({ type: 0x0101, name: 'ZONE', codec: u16Codec });
    const route = registry.defineOperation({ type: 0x0100, name: 'ROUTE' });
    expect(registry.option(0x0101)).toBe(zone);
    expect(registry.operation(0x0100)).toBe(route);
    expect(defaultRegistry.option(0x0101)).toBeUndefined();
    expect(zone.decode(zone.option(42, true))).toBe(42);
  });

  it('redefining a type under the same name returns the existing one; another name conflicts', () => {
    const registry = new Registry();
    const a = registry.defineOption({ type: 0x4000, name: 'NOTE', codec: utf8Codec });
    expect(registry.defineOption({ type: 0x4000, name: 'NOTE', codec: utf8Codec })).toBe(a);
    expect(codeOf(() => registry.defineOption({ type: 0x4000, name: 'OTHER', codec: utf8Codec }))).toBe(
      'REGISTRY_CONFLICT',
    );
    registry.defineOperation({ type: 0x4000, name: 'OP' });
    expect(codeOf(() => registry.defineOperation({ type: 0x4000, name: 'OP2' }))).toBe('REGISTRY_CONFLICT');
    expect(codeOf(() => registry.defineOption({ type: 0x8000, name: 'WIDE', codec: utf8Codec }))).toBe(
      'INVALID_FIELD',
    );
  });

  it('lists unknown mandatory options once each, in order, and skips unknown optional ones', () => {
    const options: XppOption[] = [
      { type: 0x7002, mandatory: true, value: new Uint8Array(0) },
      { type: 0x7003, mandatory: false, value: new Uint8Array(0) },
      Option.DATA.option(Uint8Array.of(1), true),
      { type: 0x7001, mandatory: true, value: new Uint8Array(0) },
      { type: 0x7002, mandatory: true, value: new Uint8Array(0) },
    ];
    expect(defaultRegistry.unknownMandatory(options)).toEqual([0x7002, 0x7001]);
    expect(defaultRegistry.unknownMandatory([Option.DATA.option(Uint8Array.of(1), true)])).toEqual([]);
  });
});

describe('WireError', () => {
  it('is recognised across copies by name and code, and nothing else is', () => {
    const foreign = Object.assign(new Error('x'), { name: 'WireError', code: 'TRUNCATED' });
    expect(WireError.is(foreign)).toBe(true);
    expect(WireError.is(Object.assign(new Error('x'), { name: 'WireError', code: 'NOPE' }))).toBe(false);
    expect(WireError.is(new TypeError('x'))).toBe(false);
    expect(WireError.is({ name: 'WireError', code: 'TRUNCATED' })).toBe(false);
    const e = new WireError('TRUNCATED', 'short');
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe('TRUNCATED');
    expect(e.name).toBe('WireError');
  });
});

import { WireError, type OptionType, type XppOption } from '@xpp/wire';
import type { DigestVerdict } from './bind-values.js';
import type { DigestResponseFields } from './digest.js';
import { DhtOption } from './options.js';
import type { Binding, BindingId } from './values.js';

// REGISTER-BIND and AUTHORIZE (docs/decisions/dht-operation-codes.md). Decoders throw `WireError` only.

/** What a REGISTER-BIND changes once the digest holds: store a binding, or remove one (or all) of the AOR's. */
export type BindChange =
  { readonly binding: Binding; readonly lifetime: number } | { readonly remove: BindingId | '*' };

/** REGISTER-BIND: KEY (the AOR), DIGEST-RESPONSE, then BINDING + LIFETIME, or BINDING-ID, or neither (remove all). */
export interface RegisterBindRequest {
  readonly aor: string;
  readonly digest: DigestResponseFields;
  readonly change: BindChange;
}

/** AUTHORIZE: KEY (the AOR) and DIGEST-RESPONSE; the answer is a VERDICT only. */
export interface AuthorizeRequest {
  readonly aor: string;
  readonly digest: DigestResponseFields;
}

/** The answer of both: the verdict, and for a stored binding the lifetime granted. */
export interface BindResponse {
  readonly verdict: DigestVerdict;
  readonly lifetime?: number;
}

function only<T>(type: OptionType<T>, options: readonly XppOption[]): T | undefined {
  const all = type.findAll(options);
  if (all.length > 1) throw new WireError('BAD_VALUE', `option ${type.name} appears more than once`);
  return all[0];
}

function needed<T>(type: OptionType<T>, options: readonly XppOption[]): T {
  const value = only(type, options);
  if (value === undefined) throw new WireError('MISSING_OPTION', `required option ${type.name} is absent`);
  return value;
}

export function encodeAuthorize(body: AuthorizeRequest): XppOption[] {
  return [DhtOption.KEY.option(body.aor, true), DhtOption.DIGEST_RESPONSE.option(body.digest, true)];
}

export function decodeAuthorize(options: readonly XppOption[]): AuthorizeRequest {
  return { aor: needed(DhtOption.KEY, options), digest: needed(DhtOption.DIGEST_RESPONSE, options) };
}

export function encodeRegisterBind(body: RegisterBindRequest): XppOption[] {
  const options = encodeAuthorize(body);
  const change = body.change;
  if ('binding' in change) {
    options.push(
      DhtOption.BINDING.option(change.binding, true),
      DhtOption.LIFETIME.option(change.lifetime, true),
    );
  } else if (change.remove !== '*') {
    options.push(DhtOption.BINDING_ID.option(change.remove, true));
  }
  return options;
}

export function decodeRegisterBind(options: readonly XppOption[]): RegisterBindRequest {
  const { aor, digest } = decodeAuthorize(options);
  const binding = only(DhtOption.BINDING, options);
  const bindingId = only(DhtOption.BINDING_ID, options);
  if (binding !== undefined) {
    if (bindingId !== undefined)
      throw new WireError('BAD_VALUE', 'a REGISTER-BIND stores or removes, not both');
    return { aor, digest, change: { binding, lifetime: needed(DhtOption.LIFETIME, options) } };
  }
  return { aor, digest, change: { remove: bindingId ?? '*' } };
}

export function encodeBindResponse(body: BindResponse): XppOption[] {
  const options = [DhtOption.VERDICT.option(body.verdict, true)];
  if (body.lifetime !== undefined) options.push(DhtOption.LIFETIME.option(body.lifetime, true));
  return options;
}

export function decodeBindResponse(options: readonly XppOption[]): BindResponse {
  const verdict = needed(DhtOption.VERDICT, options);
  const lifetime = only(DhtOption.LIFETIME, options);
  return lifetime === undefined ? { verdict } : { verdict, lifetime };
}

import { zoneCodec, type Zone } from '@xpp/can';
import type { Contact, NeighbourInfo } from '../values.js';
import { peerIdHex, type PeerView } from './neighbour-table.js';

/** A peer with its zones decoded: what a NEIGHBOUR entry tells of it. */
export interface PeerEntry {
  readonly peerId: Uint8Array;
  readonly zones: readonly Zone[];
  readonly contact: Contact;
  readonly version: number;
}

/** The NEIGHBOUR entries and ZONE values of an overlay of one dimension count, to and from their wire form. */
export class PeerInfoCodec {
  readonly #zones: ReturnType<typeof zoneCodec>;

  constructor(dimensions: number) {
    this.#zones = zoneCodec(dimensions);
  }

  encodeZones(zones: readonly Zone[]): Uint8Array[] {
    return zones.map((z) => this.#zones.encode(z));
  }

  decodeZones(encoded: readonly Uint8Array[]): Zone[] {
    return encoded.map((z) => this.#zones.decode(z));
  }

  encode(peer: PeerEntry): NeighbourInfo {
    return {
      peerId: peer.peerId,
      zones: this.encodeZones(peer.zones),
      contact: peer.contact,
      version: peer.version,
    };
  }

  /**
   * The peer as this node keeps it. The id is copied: decoded, it is a view into the whole received message, which
   * every neighbour's list of its neighbours would otherwise keep alive (~10 KB per peer, issue #16).
   */
  view(info: NeighbourInfo): PeerView {
    return {
      id: peerIdHex(info.peerId),
      peerId: info.peerId.slice(),
      zones: this.decodeZones(info.zones),
      contact: info.contact,
      version: info.version,
    };
  }
}

// The part of dht-rpc's API (it ships no types) the baseline benchmark uses.
declare module 'dht-rpc' {
  interface DhtOptions {
    bootstrap?: string[];
    host?: string;
    port?: number;
    ephemeral?: boolean;
    firewalled?: boolean;
  }
  interface QueryStream {
    finished(): Promise<unknown>;
  }
  export default class DHT {
    constructor(options?: DhtOptions);
    static bootstrapper(port: number, host: string, options?: DhtOptions): DHT;
    fullyBootstrapped(): Promise<void>;
    address(): { host: string; port: number };
    findNode(target: Uint8Array): QueryStream;
    destroy(): Promise<void>;
  }
}

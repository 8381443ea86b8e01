// The few udx-native calls the benchmarks use (the package ships no types). udx-native itself stays a
// devDependency of each package whose bench loads it: this module only names its shape.
export interface UdxSocket {
  bind(port: number, host: string): void;
  address(): { port: number };
  close(): Promise<void>;
}
export interface UdxStream {
  readonly id: number;
  connect(socket: UdxSocket, remoteId: number, port: number, host: string): void;
  write(data: Uint8Array, cb?: () => void): boolean;
  end(): void;
  destroy(): void;
  on(event: 'data', listener: (data: Buffer) => void): void;
  on(event: 'drain' | 'close' | 'end' | 'error', listener: () => void): void;
  once(event: 'drain', listener: () => void): void;
}
export interface UdxInstance {
  createSocket(): UdxSocket;
  createStream(id: number): UdxStream;
}
export type UdxConstructor = new () => UdxInstance;

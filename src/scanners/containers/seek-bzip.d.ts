// Types for the parts of seek-bzip (a CommonJS package without its own types) that we use.
declare module 'seek-bzip' {
  interface InputStream {
    readByte(): number;
    read(buffer: Uint8Array, offset: number, length: number): number;
    seek(position: number): void;
    eof(): boolean;
  }
  interface OutputStream {
    writeByte(byte: number): void;
  }
  const Bunzip: {
    decode(input: InputStream | Uint8Array, output: OutputStream, multistream?: boolean): void;
  };
  export = Bunzip;
}

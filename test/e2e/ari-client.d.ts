declare module 'ari-client' {
  interface Client {
    on(event: string, listener: (...args: any[]) => void): void;
    start(app: string): Promise<void>;
    stop(): void;
  }
  const ari: { connect(url: string, user: string, password: string): Promise<Client> };
  export default ari;
}

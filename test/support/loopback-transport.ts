import type { HttpRequest, HttpResponse, HttpTransport } from "../../src/ocsp/http-transport.ts";
import { UndiciTransport } from "../../src/ocsp/undici-transport.ts";

/**
 * The real transport, refusing any host but loopback. Real certificates in the
 * fixtures name real CA URLs (AIA OCSP and caIssuers); a test that forgot an
 * override must fail loudly instead of reaching for the internet.
 */
export class LoopbackOnlyTransport implements HttpTransport {
  readonly sent: HttpRequest[] = [];
  private readonly inner = new UndiciTransport();

  async send(request: HttpRequest): Promise<HttpResponse> {
    if (!["127.0.0.1", "localhost", "[::1]"].includes(request.url.hostname)) {
      throw new Error(`test tried to reach ${request.url.href}: only loopback is allowed in tests`);
    }
    this.sent.push(request);
    return this.inner.send(request);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

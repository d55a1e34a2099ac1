/**
 * GET http://127.0.0.1:port/path: status and body, or status 0 when nothing
 * answers (a server not listening yet). For health and metrics endpoints.
 */
export async function localGet(port: number, path: string): Promise<{ status: number; body: string }> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: response.status, body: await response.text() };
  } catch {
    return { status: 0, body: "" };
  }
}

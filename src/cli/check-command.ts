import { fetchCaIssuers } from "../ocsp/ca-issuers.ts";
import { Certificate } from "../ocsp/certificate.ts";
import { fail } from "../ocsp/errors.ts";
import { verifyStaple } from "../ocsp/verify-staple.ts";
import { parseCommandLine, secondsFlag, stringFlag } from "./args.ts";
import type { CommandContext, CommandOutcome } from "./command-context.ts";
import { exitFor } from "./exit-status.ts";
import { verifiedReport } from "./report.ts";
import { ONLY_LEAF_STAPLE_VISIBLE, parseTarget, probeTls } from "../probe/tls-probe.ts";

export const CHECK_HELP = `Usage: ocsp-stapler check HOST:PORT [--servername NAME] [--timeout S] [--json]

Connects to a TLS server asking for a stapled OCSP response, and says whether
one came back, whether it verifies against the chain the server sent, and how
long it has left. This is how to prove the staple reaches clients.

It sees only the leaf's staple: Node's TLS does not expose the responses a
TLS 1.3 server may send for intermediates ("staplesSeen": 1,
"onlyLeafVisible": true), so those cannot be checked here.

Options:
  --servername NAME  SNI name to send (default: HOST, unless HOST is an IP)
  --timeout S        give up after S seconds (default 10)
  --json             print one JSON object instead of a summary
  -h, --help         show this help

Exit status: 0 a verified good staple, 1 a verified revoked or unknown staple,
2 no staple, an invalid one, or no connection.
`;

const OPTIONS = { servername: { type: "string" }, timeout: { type: "string" }, json: { type: "boolean" } } as const;

export async function runCheck(args: readonly string[], context: CommandContext): Promise<CommandOutcome | "help"> {
  const { values, positionals } = parseCommandLine(args, OPTIONS, { min: 1, max: 1 });
  if (values.help === true) return "help";
  const target = parseTarget(positionals[0] ?? "");
  const servername = stringFlag(values, "servername") ?? target.defaultServername;
  const timeoutMs = secondsFlag(values, "timeout", 10_000);
  const served = await probeTls(target.host, target.port, servername, timeoutMs);
  const [leaf, ...rest] = served.chain.map((der, index) => Certificate.fromDer(der, `served certificate ${index + 1}`));
  if (leaf === undefined) return fail("TLSConnectFailed", "the server sent no certificate");
  if (served.staple === undefined) return fail("NoStapleServed", `${positionals[0] ?? ""} sent no OCSP staple for "${leaf.subject}" (${served.protocol})`);
  const { response } = await verifyStaple(served.staple, {
    chain: { leaf, intermediates: rest, extraCas: [] },
    download: (url) => fetchCaIssuers(context.transport(), url, timeoutMs),
    at: context.clock.now(),
  });
  // One staple seen: the leaf's, the only one Node lets us see (see ONLY_LEAF_STAPLE_VISIBLE).
  const seen = { staplesSeen: 1, onlyLeafVisible: ONLY_LEAF_STAPLE_VISIBLE };
  return { report: verifiedReport(response, { served: positionals[0], protocol: served.protocol, subject: leaf.subject, ...seen }), exit: exitFor(response.certStatus) };
}

/** The release, named in the User-Agent and `--version`. A test keeps it equal to package.json's. */
export const VERSION = "0.1.0";
export const USER_AGENT = `ocsp-stapler/${VERSION}`;

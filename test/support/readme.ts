import { readFileSync } from "node:fs";

const README = new URL("../../README.md", import.meta.url);

/**
 * The shell commands in the ```sh blocks under one README heading (up to the next
 * heading), in order: continuation lines joined, comment lines dropped. Tests run
 * these verbatim, so the README shows exactly what was tested.
 */
export function readmeCommands(heading: string): string[] {
  const commands: string[] = [];
  let inSection = false;
  let fence: "none" | "sh" | "other" = "none";
  let pending = "";
  for (const line of readFileSync(README, "utf8").split("\n")) {
    if (line.startsWith("```")) fence = fence !== "none" ? "none" : line === "```sh" ? "sh" : "other";
    else if (fence === "none" && /^#+ /.test(line)) inSection = line.replace(/^#+ /, "") === heading;
    else if (inSection && fence === "sh" && line.trim() !== "" && !line.trim().startsWith("#")) {
      const continued = line.endsWith("\\");
      pending += continued ? `${line.slice(0, -1).trim()} ` : line.trim();
      if (!continued) { commands.push(pending); pending = ""; }
    }
  }
  if (commands.length === 0) throw new Error(`README has no shell commands under "${heading}"`);
  return commands;
}

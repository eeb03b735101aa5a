// The commands that install an agent with a new enrollment key, for sh and PowerShell.

/** Where the Windows build is expected to be installed. */
export const WINDOWS_AGENT_PATH = "C:\\Program Files\\Optralis\\optralis-agent.exe";

const SH_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One word for a POSIX shell: bare when nothing in it is special, else single-quoted. */
export function shQuote(value: string): string {
  if (SH_SAFE.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

// PowerShell treats the typographic single quotes as quotes too.
const PS_QUOTES = /['\u2018\u2019\u201a\u201b]/g;
const PS_SAFE = /^[A-Za-z0-9_][A-Za-z0-9_./:-]*$/;

/** One argument for PowerShell: bare when plain, else single-quoted (no expansion inside). */
export function psQuote(value: string): string {
  if (PS_SAFE.test(value)) return value;
  return `'${value.replace(PS_QUOTES, (q) => q + q)}'`;
}

export interface InstallCommands {
  /** Runs the agent in the foreground as the current user. */
  linux: string;
  /** As root, from the environment, the way a systemd unit would start it. */
  linuxService: string;
  windows: string;
}

export function installCommands(server: string, secret: string): InstallCommands {
  return {
    linux: `optralis-agent run --server ${shQuote(server)} --enroll-key ${shQuote(secret)}`,
    linuxService: `sudo OPTRALIS_SERVER=${shQuote(server)} OPTRALIS_ENROLL_KEY=${shQuote(secret)} optralis-agent run`,
    windows: `& "${WINDOWS_AGENT_PATH}" run --server ${psQuote(server)} --enroll-key ${psQuote(secret)}`,
  };
}

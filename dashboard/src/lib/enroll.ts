// The commands that install an agent with a new enrollment key, for sh and PowerShell.

/** Where the Windows installer puts the agent. */
export const WINDOWS_AGENT_PATH = "C:\\Program Files\\Optralis\\Agent\\optralis-agent.exe";

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
  /** Downloads the agent from this server, checks it and installs it as a systemd service. */
  oneLine: string;
  /** Installs an agent binary (or the package's) as a systemd service. */
  linuxService: string;
  /** Runs the agent in the foreground as the current user. */
  linux: string;
  /** Downloads the Windows installer from this server, checks it and runs it silently. */
  windowsOneLine: string;
  /** Installs the service with an agent already there (the installer's, or a copied .exe). */
  windows: string;
}

export function installCommands(server: string, secret: string): InstallCommands {
  return {
    oneLine: `curl -fsSL ${shQuote(`${server}/install.sh`)} | sudo sh -s -- --key ${shQuote(secret)}`,
    linuxService: `sudo optralis-agent install --server ${shQuote(server)} --enroll-key ${shQuote(secret)}`,
    linux: `optralis-agent run --server ${shQuote(server)} --enroll-key ${shQuote(secret)}`,
    windowsOneLine: `& ([scriptblock]::Create((irm ${psQuote(`${server}/install.ps1`)}))) -Key ${psQuote(secret)}`,
    windows: `& "${WINDOWS_AGENT_PATH}" install-service --server ${psQuote(server)} --enroll-key ${psQuote(secret)}`,
  };
}

# Installs the Optralis agent on Windows from the server that served this script, as the
# service OptralisAgent. From an elevated PowerShell (Run as administrator):
#   & ([scriptblock]::Create((irm @SERVER@/install.ps1))) -Key oek_… [-Label env=prod,site=paris]
# Options: -Key KEY (required), -Label KEY=VALUE[,…], -DryRun (download and verify, change
# nothing). It downloads the installer from this server, refuses it unless its SHA-256 is the
# one below, and runs it silently; the key reaches it through the environment, not a command
# line other programs can read.
param(
    [Parameter(Mandatory = $true)][string]$Key,
    [string[]]$Label = @(),
    [switch]$DryRun
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3

$Server = '@SERVER@'
$Installer = '@INSTALLER@'
$Sha256 = '@SHA256@'

if (-not [Environment]::Is64BitOperatingSystem) {
    throw 'install.ps1: the Optralis agent needs 64-bit Windows.'
}
$identity = [Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent()
if (-not $DryRun -and -not $identity.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    throw 'install.ps1: run it from an elevated PowerShell (Run as administrator).'
}
# Windows PowerShell 5.1 may still default to TLS 1.0.
[Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12

$file = Join-Path ([IO.Path]::GetTempPath()) $Installer
Write-Host "Downloading $Server/downloads/$Installer"
Invoke-WebRequest -UseBasicParsing -Uri "$Server/downloads/$Installer" -OutFile $file
$actual = (Get-FileHash -Algorithm SHA256 -LiteralPath $file).Hash.ToLowerInvariant()
if ($actual -ne $Sha256) {
    Remove-Item -LiteralPath $file -Force
    throw "install.ps1: the download's SHA-256 is $actual, not $Sha256; not installed."
}
Write-Host "Verified SHA-256 $Sha256"
if ($DryRun) {
    Remove-Item -LiteralPath $file -Force
    Write-Host "Dry run: would install the agent for $Server; nothing changed."
    return
}

$arguments = @('/S', "/SERVER=$Server")
if ($Label.Count -gt 0) {
    $arguments += "/LABELS=$($Label -join ',')"
}
$env:OPTRALIS_ENROLL_KEY = $Key
try {
    $process = Start-Process -FilePath $file -ArgumentList $arguments -Wait -PassThru
} finally {
    Remove-Item Env:OPTRALIS_ENROLL_KEY -ErrorAction SilentlyContinue
    Remove-Item -LiteralPath $file -Force -ErrorAction SilentlyContinue
}
switch ($process.ExitCode) {
    0 { Write-Host 'Installed: the service OptralisAgent is running; its log is in C:\ProgramData\Optralis\agent\agent.log and the Event Log (Application).' }
    2 { throw 'install.ps1: the installer refused the server address or the key.' }
    default { throw "install.ps1: the installer failed (exit code $($process.ExitCode)); C:\ProgramData\Optralis\agent\agent.log may say why." }
}

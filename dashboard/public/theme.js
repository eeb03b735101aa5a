// Theme before first paint, so a dark-mode user never sees a white flash.
try {
  const t = localStorage.getItem("optralis.theme");
  const dark = t ? t === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
  document.documentElement.classList.toggle("dark", dark);
} catch {
  // No storage or no matchMedia: the light theme.
}

import i18n from "i18next";
import { initReactI18next } from "react-i18next";
import { modules } from "./modules";

export const LANGUAGES = ["en", "fr"] as const;
export type Language = (typeof LANGUAGES)[number];
const KEY = "optralis.lang";

function initialLanguage(): Language {
  try {
    const saved = localStorage.getItem(KEY);
    if (saved === "en" || saved === "fr") return saved;
  } catch {
    // No storage: follow the browser.
  }
  const nav = typeof navigator === "undefined" ? "en" : navigator.language.slice(0, 2);
  return nav === "fr" ? "fr" : "en";
}

function bundle(lang: Language): Record<string, unknown> {
  return Object.fromEntries(Object.entries(modules).map(([name, m]) => [name, m[lang]]));
}

void i18n.use(initReactI18next).init({
  resources: { en: { translation: bundle("en") }, fr: { translation: bundle("fr") } },
  lng: initialLanguage(),
  fallbackLng: "en",
  interpolation: { escapeValue: false },
  returnNull: false,
});

i18n.on("languageChanged", (lng) => {
  document.documentElement.lang = lng;
});
if (typeof document !== "undefined") document.documentElement.lang = i18n.language;

export function setLanguage(lang: Language) {
  try {
    localStorage.setItem(KEY, lang);
  } catch {
    // Not remembered.
  }
  void i18n.changeLanguage(lang);
}

export default i18n;

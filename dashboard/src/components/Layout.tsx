// The frame of every signed-in page: navigation, organisation switcher, language, theme.
import { useState, type ReactNode } from "react";
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { currentOrg } from "../api/client";
import { useAnswerInvitation } from "../api/me";
import { orgsQuery } from "../api/orgs";
import type { Invitation } from "../api/types";
import { useSession } from "../auth/session";
import { LANGUAGES, setLanguage } from "../i18n";
import { Link, useLocation } from "../lib/router";
import { currentTheme, setTheme } from "../lib/theme";
import { useLive } from "../lib/live";
import { ChoiceSelect } from "./fields";
import { Button, cx, FormError } from "./ui";

interface NavItem {
  to: string;
  key: string;
  admin?: boolean;
  platform?: boolean;
}

const NAV: NavItem[] = [
  { to: "/", key: "fleet" },
  { to: "/alerts", key: "alerts" },
  { to: "/rules", key: "rules" },
  { to: "/channels", key: "channels" },
  { to: "/groups", key: "groups" },
  { to: "/updates", key: "updates" },
  { to: "/enroll", key: "enroll", admin: true },
  { to: "/users", key: "users", admin: true },
  { to: "/audit", key: "audit", admin: true },
  { to: "/orgs", key: "orgs", platform: true },
];

function isActive(to: string, path: string) {
  return to === "/" ? path === "/" || path.startsWith("/machines") : path.startsWith(to);
}

export function Layout({ children }: { children: ReactNode }) {
  const { t } = useTranslation();
  const session = useSession();
  const { path } = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  const items = NAV.filter((n) => (!n.admin || session.isAdmin) && (!n.platform || session.me.platform_admin));

  return (
    <div className="min-h-screen">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:fixed focus:top-2 focus:left-2 focus:z-50 focus:rounded-lg focus:bg-white focus:px-3 focus:py-2 focus:text-slate-900"
      >
        {t("common.skip")}
      </a>
      <header className="glass sticky top-0 z-30 border-x-0 border-t-0">
        <div className="mx-auto flex max-w-[100rem] items-center gap-3 px-3 py-2 sm:px-5">
          <button
            type="button"
            className="rounded-lg p-2 focus-ring lg:hidden"
            aria-expanded={menuOpen}
            aria-controls="main-nav"
            onClick={() => setMenuOpen((o) => !o)}
          >
            <span className="sr-only">{t("common.nav.menu")}</span>
            <svg width="20" height="20" viewBox="0 0 20 20" aria-hidden="true">
              <path d="M3 5h14M3 10h14M3 15h14" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" />
            </svg>
          </button>
          <Link to="/" className="flex items-center gap-2 rounded-lg font-semibold tracking-tight focus-ring">
            <img src="/favicon.svg" alt="" width="24" height="24" />
            <span>{t("common.product")}</span>
          </Link>
          <LiveIndicator />
          <div className="ml-auto flex items-center gap-2">
            <div className="hidden items-center gap-2 sm:flex">
              <OrgSwitcher />
              <LanguageSwitch />
            </div>
            <ThemeToggle />
            <Link
              to="/profile"
              className="hidden max-w-48 truncate rounded-lg px-2 py-1 text-sm hover:bg-slate-900/5 focus-ring sm:block dark:hover:bg-white/10"
              title={t("common.nav.profile")}
            >
              {session.me.email}
            </Link>
          </div>
        </div>
      </header>
      <div className="mx-auto flex max-w-[100rem] gap-5 px-3 py-4 sm:px-5">
        <nav
          id="main-nav"
          aria-label={t("common.nav.main")}
          className={cx(
            "glass z-20 w-56 shrink-0 self-start rounded-2xl p-2 lg:sticky lg:top-20 lg:block",
            menuOpen ? "fixed top-16 left-3 block" : "hidden",
          )}
        >
          {/* At phone width the header has no room for these: they live in the menu. */}
          <div className="mb-2 flex flex-col gap-2 border-b border-slate-400/20 pb-2 sm:hidden">
            <OrgSwitcher testid="org-switcher-menu" />
            <LanguageSwitch testid="language-menu" />
          </div>
          <ul className="flex flex-col gap-0.5">
            {[...items, { to: "/profile", key: "profile" }].map((n) => (
              <li key={n.to}>
                <Link
                  to={n.to}
                  onClick={() => setMenuOpen(false)}
                  aria-current={isActive(n.to, path) ? "page" : undefined}
                  className={cx(
                    "block rounded-xl px-3 py-2 text-sm font-medium focus-ring",
                    isActive(n.to, path)
                      ? "bg-sky-700 text-white dark:bg-sky-500 dark:text-slate-950"
                      : "hover:bg-slate-900/5 dark:hover:bg-white/10",
                  )}
                >
                  {t(`common.nav.${n.key}`)}
                </Link>
              </li>
            ))}
            <li className="mt-2 border-t border-slate-400/20 pt-2">
              <button
                type="button"
                onClick={() => void session.signOut()}
                className="w-full rounded-xl px-3 py-2 text-left text-sm hover:bg-slate-900/5 focus-ring dark:hover:bg-white/10"
              >
                {t("common.action.signOut")}
              </button>
            </li>
          </ul>
        </nav>
        <main id="main" className="min-w-0 flex-1" tabIndex={-1}>
          {session.me.invitations?.map((inv) => (
            <InvitationBanner key={inv.org_id} invitation={inv} />
          ))}
          {!session.isAdmin && (
            <p className="mb-3 rounded-xl bg-sky-500/10 px-3 py-2 text-sm text-sky-900 dark:text-sky-200" data-testid="read-only">
              {t("common.readOnly")}
            </p>
          )}
          {children}
        </main>
      </div>
    </div>
  );
}

/** An organisation that added this account: it joins only if the account accepts. */
function InvitationBanner({ invitation }: { invitation: Invitation }) {
  const { t } = useTranslation();
  const session = useSession();
  const answer = useAnswerInvitation(invitation.org_id, () => void session.reload());
  // Both buttons wait while either answer is sent; the one clicked shows it is busy.
  const reply = (accept: boolean) => (
    <Button
      variant={accept ? "primary" : undefined}
      busy={answer.isPending && answer.variables === accept}
      disabled={answer.isPending}
      onClick={() => answer.mutate(accept)}
      data-testid={accept ? "invitation-accept" : "invitation-decline"}
    >
      {t(accept ? "common.invitation.accept" : "common.invitation.decline")}
    </Button>
  );
  return (
    <div
      role="status"
      className="mb-3 flex flex-wrap items-center gap-3 rounded-xl bg-amber-500/15 px-3 py-2 text-sm"
      data-testid="invitation"
    >
      <span>{t("common.invitation.text", { org: invitation.org_name, role: t(`common.role.${invitation.role}`) })}</span>
      <span className="ml-auto flex gap-2">
        {reply(true)}
        {reply(false)}
      </span>
      <FormError error={answer.error} />
    </div>
  );
}

function LiveIndicator() {
  const { t } = useTranslation();
  const connected = useLive();
  return (
    <span
      className={cx(
        "hidden items-center gap-1.5 text-xs sm:inline-flex",
        connected ? "text-emerald-700 dark:text-emerald-400" : "text-amber-700 dark:text-amber-300",
      )}
      role="status"
    >
      <span aria-hidden="true" className={cx("h-2 w-2 rounded-full bg-current", connected && "pulse-dot")} />
      {connected ? t("common.state.live") : t("common.state.offline")}
    </span>
  );
}

function OrgSwitcher({ testid = "org-switcher" }: { testid?: string }) {
  const { t } = useTranslation();
  const session = useSession();
  const all = useQuery({
    ...orgsQuery(),
    enabled: session.me.platform_admin,
  });
  const options =
    session.me.platform_admin && all.data
      ? all.data.orgs.map((o) => ({ id: o.id, name: o.name }))
      : session.me.orgs.filter((o) => !o.disabled).map((o) => ({ id: o.id, name: o.name }));
  // A platform admin may act in an organisation they are not a member of: session.org is
  // null then, and the saved choice is the one in use.
  const current = session.org?.id ?? currentOrg() ?? options[0]?.id ?? "";
  if (options.length < 2) return null;
  return (
    <label className="flex items-center gap-1">
      <span className="sr-only">{t("common.settings.switchOrg")}</span>
      <ChoiceSelect
        value={current}
        options={options.map((o) => o.id)}
        optionLabel={(id) => options.find((o) => o.id === id)?.name ?? id}
        onChange={(id) => id && session.switchOrg(id)}
        className="max-w-40 py-1"
        testId={testid}
      />
    </label>
  );
}

export function LanguageSwitch({ testid = "language" }: { testid?: string }) {
  const { t, i18n } = useTranslation();
  return (
    <label className="flex items-center">
      <span className="sr-only">{t("common.settings.language")}</span>
      <ChoiceSelect
        value={i18n.language}
        options={LANGUAGES}
        optionLabel={(l) => (l === "en" ? "English" : "Français")}
        onChange={(l) => l && setLanguage(l)}
        className="w-auto py-1"
        testId={testid}
      />
    </label>
  );
}

export function ThemeToggle() {
  const { t } = useTranslation();
  const [theme, set] = useState(currentTheme);
  const next = theme === "dark" ? "light" : "dark";
  return (
    <button
      type="button"
      onClick={() => {
        setTheme(next);
        set(next);
      }}
      className="rounded-lg p-2 hover:bg-slate-900/5 focus-ring dark:hover:bg-white/10"
      aria-label={`${t("common.settings.theme")}: ${t(`common.settings.${next}`)}`}
      data-testid="theme"
    >
      {theme === "dark" ? (
        <svg width="18" height="18" viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="2">
          <circle cx="12" cy="12" r="4" />
          <path d="M12 2v2M12 20v2M4.9 4.9l1.4 1.4M17.7 17.7l1.4 1.4M2 12h2M20 12h2M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4" />
        </svg>
      ) : (
        <svg width="18" height="18" viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="2">
          <path d="M21 12.8A9 9 0 1 1 11.2 3a7 7 0 0 0 9.8 9.8z" />
        </svg>
      )}
    </button>
  );
}

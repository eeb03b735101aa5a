// Routes: each screen loads on first visit, so the first paint carries only the frame.
import { lazy, Suspense, type ComponentType } from "react";
import { useTranslation } from "react-i18next";
import { loginPath, useOptionalSession } from "./auth/session";
import { Layout } from "./components/Layout";
import { EmptyState, Loading } from "./components/ui";
import { LiveProvider } from "./lib/live";
import { matchRoute, navigate, useLocation } from "./lib/router";
import Fleet from "./pages/Fleet";
import Login, { SetPassword } from "./pages/Login";

const MachineDetail = lazy(() => import("./pages/MachineDetail"));
const Alerts = lazy(() => import("./pages/Alerts"));
const Rules = lazy(() => import("./pages/Rules"));
const Channels = lazy(() => import("./pages/Channels"));
const Groups = lazy(() => import("./pages/Groups"));
const Updates = lazy(() => import("./pages/Updates"));
const Enroll = lazy(() => import("./pages/Enroll"));
const Users = lazy(() => import("./pages/Users"));
const Audit = lazy(() => import("./pages/Audit"));
const Profile = lazy(() => import("./pages/Profile"));
const Orgs = lazy(() => import("./pages/Orgs"));

type Page = ComponentType<{ params: Record<string, string> }>;

const ROUTES: [string, Page][] = [
  ["/", Fleet],
  ["/machines", Fleet],
  ["/machines/:id", MachineDetail],
  ["/alerts", Alerts],
  ["/rules", Rules],
  ["/channels", Channels],
  ["/groups", Groups],
  ["/updates", Updates],
  ["/enroll", Enroll],
  ["/users", Users],
  ["/audit", Audit],
  ["/profile", Profile],
  ["/orgs", Orgs],
];

function NotFound() {
  const { t } = useTranslation();
  return <EmptyState title={t("common.notFound")} />;
}

export default function App() {
  const session = useOptionalSession();
  const { path, href } = useLocation();

  if (path === "/set-password") return <SetPassword />;
  if (!session) {
    if (path !== "/login") {
      navigate(loginPath(href), { replace: true });
      return null;
    }
    return <Login />;
  }
  if (path === "/login") {
    navigate("/", { replace: true });
    return null;
  }
  let page = <NotFound />;
  for (const [pattern, Component] of ROUTES) {
    const params = matchRoute(pattern, path);
    if (params) {
      page = <Component params={params} />;
      break;
    }
  }
  return (
    <LiveProvider>
      <Layout>
        <Suspense fallback={<Loading />}>{page}</Suspense>
      </Layout>
    </LiveProvider>
  );
}

import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import "./index.css";
import "./i18n";
import { ApiError } from "./api/client";
import { SessionProvider } from "./auth/session";
import { Loading } from "./components/ui";
import App from "./App";

const queries = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 15_000,
      refetchOnWindowFocus: true,
      // Client errors (403, 404, 422) will not change on a retry.
      retry: (count, error) => count < 2 && !(error instanceof ApiError && error.status >= 400 && error.status < 500),
    },
  },
});

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <QueryClientProvider client={queries}>
        <SessionProvider fallback={<Loading />}>
          <App />
        </SessionProvider>
      </QueryClientProvider>
    </StrictMode>,
  );
}

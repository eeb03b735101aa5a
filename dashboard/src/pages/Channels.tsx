// Notification channels: where alerts go. Admins add, edit, switch on and off, delete and
// test them (the outcome shows in the row); everyone sees each channel's deliveries.
// lib/channels.ts turns the form into the `config` JSON the server expects.
import { useState, type FormEvent } from "react";
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { channelsQuery, deliveriesQuery, useDeleteChannel, useSaveChannel, useTestChannel, useToggleChannel } from "../api/channels";
import type { Channel, DeliveryList, TestOutcome } from "../api/types";
import { useSession } from "../auth/session";
import { Toggle } from "../components/Toggle";
import {
  Badge,
  Button,
  Card,
  CodeBlock,
  Dialog,
  FieldNote,
  FormDialog,
  FormError,
  PageHeader,
  QueryView,
  SeverityBadge,
  When,
  cx,
  errorText,
  DeleteButton,
} from "../components/ui";
import {
  ALERT_KINDS,
  CHANNEL_KINDS,
  DEFAULT_PORTS,
  SMTP_SECURITY,
  buildChannelBody,
  channelFieldOf,
  channelTarget,
  channelToForm,
  hasStoredSecret,
  isMasked,
  newChannelForm,
  randomSecret,
  type ChannelForm,
  type CreateChannelBody,
  type UpdateChannelBody,
} from "../lib/channels";
import { formatNumber } from "../lib/format";
import { useCheckedForm } from "../components/checkedForm";
import { SEVERITIES } from "../lib/rules";
import { Checkbox, SelectField, SeveritySelect, Table, TextField } from "../components/fields";

type Delivery = DeliveryList["deliveries"][number];

interface TestState {
  id: string;
  outcome?: TestOutcome;
  error?: unknown;
}

export default function Channels(_props: { params: Record<string, string> }) {
  const { t } = useTranslation();
  const { isAdmin } = useSession();
  const channels = useQuery(channelsQuery());
  const [editing, setEditing] = useState<{ channel: Channel | null } | null>(null);
  const [deliveriesOf, setDeliveriesOf] = useState<Channel | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [tested, setTested] = useState<TestState | null>(null);

  const test = useTestChannel({
    onMutate: (id) => setTested({ id }),
    onSuccess: (outcome, id) => setTested({ id, outcome }),
    onError: (error, id) => setTested({ id, error }),
  });

  return (
    <>
      <PageHeader
        title={t("channels.title")}
        subtitle={t("channels.subtitle")}
        actions={
          isAdmin && (
            <Button variant="primary" data-testid="channel-new" onClick={() => setEditing({ channel: null })}>
              {t("channels.new")}
            </Button>
          )
        }
      />
      {secret && <GeneratedSecret secret={secret} onDismiss={() => setSecret(null)} />}
      <Card>
        <QueryView query={channels} empty={(d) => d.channels.length === 0} emptyTitle={t("channels.empty")}>
          {(data) => (
            <ChannelTable
              channels={data.channels}
              isAdmin={isAdmin}
              tested={tested}
              testing={test.isPending ? test.variables : undefined}
              onTest={(c) => test.mutate(c.id)}
              onEdit={(c) => setEditing({ channel: c })}
              onDeliveries={setDeliveriesOf}
            />
          )}
        </QueryView>
      </Card>
      {isAdmin && editing && (
        <ChannelDialog key={editing.channel?.id ?? "new"} channel={editing.channel} onClose={() => setEditing(null)} onSecret={setSecret} />
      )}
      {deliveriesOf && <DeliveriesDialog channel={deliveriesOf} onClose={() => setDeliveriesOf(null)} />}
    </>
  );
}

/** A webhook secret the dashboard made up: shown once, above the list (not in a modal, so
 * the page stays usable). */
function GeneratedSecret({ secret, onDismiss }: { secret: string; onDismiss: () => void }) {
  const { t } = useTranslation();
  return (
    <Card
      className="mb-5"
      title={t("channels.generated.title")}
      actions={
        <Button variant="ghost" onClick={onDismiss}>
          {t("common.action.close")}
        </Button>
      }
    >
      <div role="status" data-testid="channel-generated-secret">
        <p className="mb-3 text-sm">{t("channels.generated.text")}</p>
        <CodeBlock code={secret} />
      </div>
    </Card>
  );
}

interface TableProps {
  channels: Channel[];
  isAdmin: boolean;
  tested: TestState | null;
  testing?: string;
  onTest: (c: Channel) => void;
  onEdit: (c: Channel) => void;
  onDeliveries: (c: Channel) => void;
}

function ChannelTable({ channels, isAdmin, ...rest }: TableProps) {
  const { t } = useTranslation();
  return (
    <Table
      variant="ruled"
      className="min-w-[56rem]"
      label={t("channels.tableLabel")}
      testId="channels-table"
      columns={[
        { label: t("channels.col.name"), className: "pl-4 sm:pl-5" },
        t("channels.col.kind"),
        t("channels.col.target"),
        t("channels.col.minSeverity"),
        t("channels.col.alertKinds"),
        t("channels.col.enabled"),
        { label: t("channels.col.actions"), className: "pr-4 text-right sm:pr-5" },
      ]}
    >
      {channels.map((c) => (
        <ChannelRow key={c.id} channel={c} isAdmin={isAdmin} {...rest} />
      ))}
    </Table>
  );
}

function ChannelRow({
  channel: c,
  isAdmin,
  tested,
  testing,
  onTest,
  onEdit,
  onDeliveries,
}: Omit<TableProps, "channels"> & { channel: Channel }) {
  const { t } = useTranslation();
  const toggle = useToggleChannel(c.id);
  const remove = useDeleteChannel(c.id);
  const error = toggle.error ?? remove.error;
  const result = tested?.id === c.id && (tested.outcome || tested.error) ? tested : null;
  const td = "px-3 py-2.5";

  return (
    <>
      <tr className={cx("align-top", !result && "border-b border-slate-400/10 last:border-0")} data-testid={`channel-row-${c.id}`}>
        <td className={cx(td, "min-w-[8rem] pl-4 font-medium sm:pl-5")}>{c.name}</td>
        <td className={td}>{t(`channels.kind.${c.kind}`)}</td>
        <td className={cx(td, "max-w-[18rem] break-words text-muted")}>{channelTarget(c)}</td>
        <td className={td}>
          <SeverityBadge severity={c.min_severity} />
        </td>
        <td className={td}>
          {c.alert_kinds.length === 0
            ? t("channels.allKinds")
            : c.alert_kinds.map((k) => t(`channels.alertKind.${k}`, { defaultValue: k })).join(", ")}
        </td>
        <td className={td}>
          {isAdmin ? (
            <Toggle
              checked={c.enabled}
              label={t("channels.toggle", { name: c.name })}
              busy={toggle.isPending}
              onChange={(next) => toggle.mutate(next)}
              testId={`channel-enabled-${c.id}`}
            />
          ) : (
            <span className={c.enabled ? "" : "text-muted"}>{c.enabled ? t("channels.enabled") : t("channels.disabled")}</span>
          )}
        </td>
        <td className={cx(td, "pr-4 text-right sm:pr-5")}>
          <div className="flex flex-wrap justify-end gap-1">
            {isAdmin && (
              <Button busy={testing === c.id} onClick={() => onTest(c)} data-testid={`channel-test-${c.id}`}>
                {t("channels.sendTest")}
              </Button>
            )}
            <Button variant="ghost" onClick={() => onDeliveries(c)} data-testid={`channel-deliveries-${c.id}`}>
              {t("channels.deliveries.button")}
            </Button>
            {isAdmin && (
              <>
                <Button variant="ghost" onClick={() => onEdit(c)} data-testid={`channel-edit-${c.id}`}>
                  {t("common.action.edit")}
                </Button>
                <DeleteButton name={c.name} busy={remove.isPending} onConfirm={() => remove.mutate()} testid={`channel-delete-${c.id}`} />
              </>
            )}
          </div>
          <FormError small className="mt-1" error={error} />
        </td>
      </tr>
      {result && (
        <tr className="border-b border-slate-400/10 last:border-0">
          <td colSpan={7} className="px-4 pb-3 sm:px-5">
            <TestResult state={result} />
          </td>
        </tr>
      )}
    </>
  );
}

/** What a test send gave: "Delivered", or why not. */
function TestResult({ state }: { state: TestState }) {
  const { t } = useTranslation();
  const delivered = state.outcome?.delivered === true;
  const reason = state.error ? errorText(state.error, t) : (state.outcome?.error ?? "");
  return (
    <p
      role="status"
      className={cx(
        "rounded-xl px-3 py-2 text-sm",
        delivered ? "bg-emerald-500/10 text-emerald-800 dark:text-emerald-300" : "bg-rose-500/10 text-rose-700 dark:text-rose-300",
      )}
    >
      {delivered ? (
        <span data-testid="channel-test-result">{t("channels.test.delivered")}</span>
      ) : (
        <>
          <span className="font-medium">{t("channels.test.failed")} </span>
          <span data-testid="channel-test-result" className="break-all">
            {reason}
          </span>
        </>
      )}
    </p>
  );
}

const DELIVERY_TONES: Record<string, string> = { delivered: "ok", failed: "critical", pending: "warning", sending: "info" };

function DeliveriesDialog({ channel, onClose }: { channel: Channel; onClose: () => void }) {
  const { t, i18n } = useTranslation();
  const deliveries = useQuery({ ...deliveriesQuery(channel.id), refetchInterval: 10_000 });
  const th = "px-2 py-2 font-medium";
  return (
    <Dialog
      open
      onClose={onClose}
      title={t("channels.deliveries.title", { name: channel.name })}
      footer={<Button onClick={onClose}>{t("common.action.close")}</Button>}
    >
      <QueryView query={deliveries} empty={(d) => d.deliveries.length === 0} emptyTitle={t("channels.deliveries.empty")}>
        {(data) => (
          <Table
            variant="ruled"
            cell={th}
            wrap="-mx-2 overflow-x-auto"
            className="min-w-[34rem]"
            label={t("channels.deliveries.tableLabel")}
            testId="channel-deliveries"
            columns={[
              t("channels.deliveries.col.message"),
              t("channels.deliveries.col.status"),
              { label: t("channels.deliveries.col.attempts"), className: "text-right" },
              t("channels.deliveries.col.lastError"),
              t("channels.deliveries.col.created"),
            ]}
          >
            {data.deliveries.map((d: Delivery) => (
              <tr key={d.id} className="border-b border-slate-400/10 align-top last:border-0">
                <td className="min-w-[9rem] px-2 py-2">
                  <div className="text-xs text-muted">
                    {t(`channels.deliveries.event.${d.notification.event}`, { defaultValue: d.notification.event })}
                  </div>
                  <div className="break-words">{d.notification.title}</div>
                </td>
                <td className="px-2 py-2">
                  <Badge tone={DELIVERY_TONES[d.status] ?? "offline"}>
                    {t(`channels.deliveries.status.${d.status}`, { defaultValue: d.status })}
                  </Badge>
                </td>
                <td className="px-2 py-2 text-right tabular-nums">{formatNumber(d.attempts, i18n.language)}</td>
                <td className="max-w-[14rem] px-2 py-2 break-words text-rose-700 dark:text-rose-300">
                  {d.last_error ?? <span className="text-muted">–</span>}
                </td>
                <td className="px-2 py-2 whitespace-nowrap">
                  <When ms={d.created_ms} />
                  {d.delivered_ms ? (
                    <div className="text-xs text-muted">
                      <When ms={d.delivered_ms} prefix={(when) => t("channels.deliveries.deliveredAt", { when })} />
                    </div>
                  ) : (
                    d.next_attempt_ms &&
                    d.status !== "failed" && (
                      <div className="text-xs text-muted">
                        <When ms={d.next_attempt_ms} prefix={(when) => t("channels.deliveries.next", { when })} />
                      </div>
                    )
                  )}
                </td>
              </tr>
            ))}
          </Table>
        )}
      </QueryView>
    </Dialog>
  );
}

type SaveArgs = { create: CreateChannelBody; generated: string | null } | { update: UpdateChannelBody };

/** The fields a server error can name, shown next to their input. */
const SHOWN_FIELDS = new Set([
  "name",
  "min_severity",
  "alert_kinds",
  "url",
  "secret",
  "host",
  "port",
  "tls",
  "username",
  "password",
  "from",
  "to",
  "accept_invalid_certs",
]);

function ChannelDialog({ channel, onClose, onSecret }: { channel: Channel | null; onClose: () => void; onSecret: (s: string) => void }) {
  const { t } = useTranslation();
  const editing = channel !== null;
  const save = useSaveChannel<SaveArgs>(channel?.id ?? null, (args) => {
    onClose();
    if ("create" in args && args.generated) onSecret(args.generated);
  });
  const { form, set, check, errors, general } = useCheckedForm<ChannelForm>(
    () => (channel ? channelToForm(channel) : newChannelForm()),
    save,
    { fieldOf: channelFieldOf, shown: SHOWN_FIELDS, conflict: "name" },
  );

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (editing) {
      const { body, errors: found } = buildChannelBody(form, true);
      if (check(found)) save.mutate({ update: body });
      return;
    }
    const generated = form.kind === "webhook" && form.secret === "" ? randomSecret() : null;
    const { body, errors: found } = buildChannelBody(generated ? { ...form, secret: generated } : form, false);
    if (check(found)) save.mutate({ create: body, generated });
  };

  return (
    <FormDialog
      onClose={onClose}
      title={channel ? t("channels.editTitle", { name: channel.name }) : t("channels.newTitle")}
      onSubmit={submit}
      busy={save.isPending}
      submitTestId="channel-save"
      formTestId="channel-form"
      error={general}
    >
      <div className="grid gap-4 sm:grid-cols-2">
        <TextField
          label={t("channels.field.name")}
          error={errors.name}
          value={form.name}
          onChange={(v) => set("name", v)}
          maxLength={100}
          autoFocus
          testId="channel-name"
        />
        <SelectField
          label={t("channels.field.kind")}
          hint={editing ? t("channels.hint.kindLocked") : undefined}
          options={CHANNEL_KINDS}
          optionLabel={(k) => t(`channels.kind.${k}`)}
          value={form.kind}
          disabled={editing}
          onChange={(k) => set("kind", k ?? "webhook")}
          testId="channel-kind"
        />
      </div>
      <ConfigFields form={form} set={set} errors={errors} channel={channel} />
      <SeveritySelect
        label={t("channels.field.minSeverity")}
        error={errors.min_severity}
        options={SEVERITIES}
        value={form.minSeverity}
        onChange={(s) => set("minSeverity", s ?? "info")}
        testId="channel-min-severity"
      />
      <fieldset className="flex flex-col gap-1">
        <legend className="text-sm font-medium">{t("channels.field.alertKinds")}</legend>
        <div className="flex flex-wrap gap-x-4 gap-y-1">
          {ALERT_KINDS.map((k) => (
            <Checkbox
              key={k}
              checked={form.alertKinds.includes(k)}
              onChange={(on) => set("alertKinds", on ? [...form.alertKinds, k] : form.alertKinds.filter((x) => x !== k))}
              testId={`channel-alert-kind-${k}`}
            >
              {t(`channels.alertKind.${k}`)}
            </Checkbox>
          ))}
        </div>
        <FieldNote error={errors.alert_kinds} hint={t("channels.hint.alertKinds")} />
      </fieldset>
    </FormDialog>
  );
}

type SetField = <K extends keyof ChannelForm>(key: K, value: ChannelForm[K]) => void;

/** The `config` fields of the chosen kind. */
function ConfigFields({
  form,
  set,
  errors,
  channel,
}: {
  form: ChannelForm;
  set: SetField;
  errors: Record<string, string | undefined>;
  channel: Channel | null;
}) {
  const { t } = useTranslation();
  // Every kind but email posts to a URL; a stored one comes back masked and is kept.
  const urlField = (label: string, hint: string) => (
    <TextField
      label={label}
      hint={isMasked(form.url) ? t("channels.hint.urlKept") : hint}
      error={errors.url}
      type="url"
      inputMode="url"
      value={form.url}
      onChange={(v) => set("url", v)}
      placeholder="https://"
      spellCheck={false}
      autoComplete="off"
      testId="channel-url"
    />
  );
  switch (form.kind) {
    case "webhook":
      return (
        <>
          {urlField(t("channels.field.url"), t("channels.hint.url"))}
          <TextField
            label={t("channels.field.secret")}
            hint={hasStoredSecret(channel, "secret") ? t("channels.hint.secretKeep") : t("channels.hint.secretNew")}
            error={errors.secret}
            type="password"
            value={form.secret}
            onChange={(v) => set("secret", v)}
            autoComplete="new-password"
            spellCheck={false}
            testId="channel-secret"
          />
        </>
      );
    case "slack":
    case "discord":
    case "teams":
      return urlField(t("channels.field.webhookUrl"), t(`channels.hint.${form.kind}`));
    case "email":
      return (
        <>
          <div className="grid gap-4 sm:grid-cols-[1fr_7rem]">
            <TextField
              label={t("channels.field.host")}
              error={errors.host}
              value={form.host}
              onChange={(v) => set("host", v)}
              placeholder="smtp.example.org"
              spellCheck={false}
              autoComplete="off"
              testId="channel-host"
            />
            <TextField
              label={t("channels.field.port")}
              hint={t("channels.hint.port", { port: DEFAULT_PORTS[form.security] })}
              error={errors.port}
              inputMode="numeric"
              value={form.port}
              onChange={(v) => set("port", v)}
              placeholder={String(DEFAULT_PORTS[form.security])}
              testId="channel-port"
            />
          </div>
          <SelectField
            label={t("channels.field.security")}
            error={errors.tls}
            options={SMTP_SECURITY}
            optionLabel={(s) => t(`channels.security.${s}`)}
            value={form.security}
            onChange={(s) => set("security", s ?? "starttls")}
            testId="channel-security"
          />
          <div className="grid gap-4 sm:grid-cols-2">
            <TextField
              label={t("channels.field.username")}
              error={errors.username}
              value={form.username}
              onChange={(v) => set("username", v)}
              autoComplete="off"
              spellCheck={false}
              testId="channel-username"
            />
            <TextField
              label={t("channels.field.password")}
              hint={hasStoredSecret(channel, "password") ? t("channels.hint.passwordKeep") : undefined}
              error={errors.password}
              type="password"
              value={form.password}
              onChange={(v) => set("password", v)}
              autoComplete="new-password"
              testId="channel-password"
            />
          </div>
          <TextField
            label={t("channels.field.from")}
            error={errors.from}
            type="email"
            value={form.from}
            onChange={(v) => set("from", v)}
            placeholder="optralis@example.org"
            autoComplete="off"
            testId="channel-from"
          />
          <TextField
            label={t("channels.field.to")}
            hint={t("channels.hint.to")}
            error={errors.to}
            value={form.to}
            onChange={(v) => set("to", v)}
            placeholder="ops@example.org, oncall@example.org"
            autoComplete="off"
            testId="channel-to"
          />
          <div className="flex flex-col gap-1">
            <Checkbox
              className="inline-flex items-center gap-2 text-sm font-medium"
              checked={form.acceptInvalidCerts}
              onChange={(v) => set("acceptInvalidCerts", v)}
              testId="channel-accept-invalid-certs"
            >
              {t("channels.field.acceptInvalidCerts")}
            </Checkbox>
            <FieldNote error={errors.accept_invalid_certs} hint={t("channels.hint.acceptInvalidCerts")} />
          </div>
        </>
      );
  }
}

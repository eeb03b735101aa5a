// Names for the API's shapes, generated from docs/openapi.json (`npm run gen:api`).
import type { components } from "./schema";

type S = components["schemas"];
export type Me = S["Me"];
export type MyOrg = S["MyOrg"];
export type Invitation = S["Invitation"];
export type PasswordReset = S["PasswordReset"];
export type Role = S["Role"];
export type LoginResponse = S["LoginResponse"];
export type AccessToken = S["AccessToken"];
export type Machine = S["Machine"];
export type MachineList = S["MachineList"];
export type MachineHealth = S["MachineHealth"];
export type LatestValues = S["LatestValues"];
export type FleetSummary = S["FleetSummary"];
export type Series = S["Series"];
export type MetricInfo = S["MetricInfo"];
export type Group = S["Group"];
export type GroupList = S["GroupList"];
export type Disk = S["Disk"];
export type MachineDisks = S["MachineDisks"];
export type DiskHistory = S["DiskHistory"];
export type StoredEvent = S["StoredEvent"];
export type EventPage = S["EventPage"];
export type EventSeverity = S["EventSeverity"];
export type Alert = S["Alert"];
export type AlertList = S["AlertList"];
export type AlertSeverity = S["AlertSeverity"];
export type Silence = S["Silence"];
export type SilenceList = S["SilenceList"];
export type CreateSilence = S["CreateSilence"];
export type Rule = S["Rule"];
export type RuleList = S["RuleList"];
export type RuleSpec = S["RuleSpec"];
export type RuleScope = S["RuleScope"];
export type Channel = S["Channel"];
export type ChannelList = S["ChannelList"];
export type ChannelKind = S["ChannelKind"];
export type CreateChannel = S["CreateChannel"];
export type TestOutcome = S["TestOutcome"];
export type DeliveryList = S["DeliveryList"];
export type User = S["User"];
export type UserList = S["UserList"];
export type CreatedUser = S["CreatedUser"];
export type OneTimeLink = S["OneTimeLink"];
export type AuditEntry = S["AuditEntry"];
export type AuditList = S["AuditList"];
export type EnrollKey = S["EnrollKey"];
export type EnrollKeyList = S["EnrollKeyList"];
export type CreatedEnrollKey = S["CreatedEnrollKey"];
export type CreateEnrollKey = S["CreateEnrollKey"];
export type Org = S["Org"];
export type OrgList = S["OrgList"];
export type TotpEnrollment = S["TotpEnrollment"];
export type RecoveryCodes = S["RecoveryCodes"];
export type StatusHistory = S["StatusHistory"];
export type ErrorBody = S["ErrorBody"];

export type MachineStatus = S["MachineStatus"];
export type RuleKind = S["RuleKind"];
export type MetricName = S["MetricName"];
export type ThresholdOp = S["ThresholdOp"];
export type AlertState = S["AlertState"];
export type DeliveryStatus = S["DeliveryStatus"];
export type Verdict = S["Verdict"];
export type Language = S["Language"];
export type AuditAction = S["AuditAction"];

/**
 * Every name of one of the schema's enums, in the order written: `allNames<RuleKind>({metric:
 * true, …})`. The object must name each member once (a member the server adds, or one it
 * drops, is a compile error), so lists in the dashboard never fall behind the server's.
 */
export function allNames<T extends string>(members: Record<T, true>): T[] {
  return Object.keys(members) as T[];
}
export type CreateGroup = S["CreateGroup"];
export type UpdateGroup = S["UpdateGroup"];
export type GroupMembers = S["GroupMembers"];
export type CreateUser = S["CreateUser"];
export type UpdateUser = S["UpdateUser"];
export type CreateOrg = S["CreateOrg"];
export type UpdateOrg = S["UpdateOrg"];
export type ChangePasswordRequest = S["ChangePasswordRequest"];
export type CodeRequest = S["CodeRequest"];
export type SessionsRevoked = S["SessionsRevoked"];
export type MetricCatalog = S["MetricCatalog"];
export type SmartDevice = S["SmartDevice"];
export type AtaAttribute = S["AtaAttribute"];
export type EventSourceState = S["EventSourceState"];
export type MachineLabels = S["MachineLabels"];
export type MachineGroups = S["MachineGroups"];
export type UpdateMachine = S["UpdateMachine"];
export type AgentRelease = S["AgentRelease"];
export type AgentReleaseList = S["AgentReleaseList"];
export type Platform = S["Platform"];
export type Rollout = S["Rollout"];
export type RolloutList = S["RolloutList"];
export type RolloutScope = S["RolloutScope"];
export type RolloutProgress = S["RolloutProgress"];
export type RolloutState = S["RolloutState"];
export type CreateRollout = S["CreateRollout"];
export type UpdateRollout = S["UpdateRollout"];
export type MachineUpdate = S["MachineUpdate"];
export type MachineUpdateList = S["MachineUpdateList"];
export type UpdateState = S["UpdateState"];

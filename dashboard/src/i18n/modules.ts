// Every screen's strings, under the screen's name: t("fleet.title").
import { alerts } from "./alerts";
import { audit } from "./audit";
import { channels } from "./channels";
import { common } from "./common";
import { enroll } from "./enroll";
import { fleet } from "./fleet";
import { groups } from "./groups";
import { login } from "./login";
import { machine } from "./machine";
import { orgs } from "./orgs";
import { profile } from "./profile";
import { rules } from "./rules";
import { updates } from "./updates";
import { users } from "./users";

export const modules = { common, login, fleet, machine, alerts, rules, channels, groups, updates, enroll, users, audit, profile, orgs };

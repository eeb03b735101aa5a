import { defineMessages } from "./define";

export const audit = defineMessages(
  {
    title: "Audit log",
    subtitle: "Who did what, newest first.",
    adminOnly: "Only admins of this organisation read its audit log.",
    scope: "Which log",
    org: "This organisation",
    platform: "Platform",
    empty: "No entries yet.",
    end: "That is all.",
    col: {
      time: "Time",
      actor: "Actor",
      action: "Action",
      target: "Target",
      ip: "IP",
      detail: "Detail",
    },
    actor: {
      user: "user",
      token: "token",
      cli: "command line",
      other: "other",
    },
  },
  {
    title: "Journal d’audit",
    subtitle: "Qui a fait quoi, du plus récent au plus ancien.",
    adminOnly: "Seuls les administrateurs de cette organisation lisent son journal d’audit.",
    scope: "Quel journal",
    org: "Cette organisation",
    platform: "Plateforme",
    empty: "Aucune entrée pour l’instant.",
    end: "C’est tout.",
    col: {
      time: "Date",
      actor: "Auteur",
      action: "Action",
      target: "Cible",
      ip: "IP",
      detail: "Détail",
    },
    actor: {
      user: "utilisateur",
      token: "jeton",
      cli: "ligne de commande",
      other: "autre",
    },
  },
);

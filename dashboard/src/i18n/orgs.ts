import { defineMessages } from "./define";

export const orgs = defineMessages(
  {
    title: "Organisations",
    subtitle: "Every organisation on this server. Switch to one to act in it as an admin.",
    platformOnly: "Only platform admins manage organisations.",
    empty: "No organisations yet.",
    current: "current",
    col: {
      name: "Name",
      created: "Created",
      requireMfa: "Require MFA",
      actions: "Actions",
    },
    requireMfaOf: "Require MFA in {{name}}",
    create: {
      title: "New organisation",
      name: "Name",
      submit: "Create",
    },
    switchTo: "Switch to",
    rename: "Rename",
    renameTitle: "Rename “{{name}}”",
    newName: "New name",
    delete: {
      button: "Delete",
      title: "Delete “{{name}}”",
      warning:
        "This deletes the organisation and everything it owns: machines and their history, alerts, rules, channels, groups, enrollment keys, API tokens, members and its audit log. It cannot be undone.",
      type: "Type {{name}} to confirm",
      submit: "Delete for ever",
    },
  },
  {
    title: "Organisations",
    subtitle: "Toutes les organisations de ce serveur. Basculez vers l’une d’elles pour y agir en administrateur.",
    platformOnly: "Seuls les administrateurs de la plateforme gèrent les organisations.",
    empty: "Aucune organisation pour l’instant.",
    current: "actuelle",
    col: {
      name: "Nom",
      created: "Créée",
      requireMfa: "MFA exigée",
      actions: "Actions",
    },
    requireMfaOf: "Exiger la MFA dans {{name}}",
    create: {
      title: "Nouvelle organisation",
      name: "Nom",
      submit: "Créer",
    },
    switchTo: "Basculer",
    rename: "Renommer",
    renameTitle: "Renommer «\u00a0{{name}}\u00a0»",
    newName: "Nouveau nom",
    delete: {
      button: "Supprimer",
      title: "Supprimer «\u00a0{{name}}\u00a0»",
      warning:
        "Cela supprime l’organisation et tout ce qu’elle possède\u00a0: machines et leur historique, alertes, règles, canaux, groupes, clés d’enrôlement, jetons d’API, membres et journal d’audit. C’est définitif.",
      type: "Saisissez {{name}} pour confirmer",
      submit: "Supprimer définitivement",
    },
  },
);

; The Optralis agent's installer for Windows (NSIS 3; `cargo xtask dist` builds it with
; Debian's makensis). It installs the agent and smartctl.exe into Program Files, then runs
; `optralis-agent.exe install-service`, which enrolls the machine and registers the service.
;
; Wizard: server address, enrollment key and labels, then the folder, then install.
; Silent, for GPO, Intune and RMM tools:
;   optralis-agent-setup.exe /S /SERVER=https://optralis.example.com /KEY=oek_… [/LABELS=env=prod,site=paris] [/D=C:\path]
; (without /KEY, the key is read from the OPTRALIS_ENROLL_KEY environment variable)
; Exit codes: 0 installed, 2 missing or invalid /SERVER or /KEY, 3 the agent could not enroll
; or register its service (its output is in the installer's details).
; Uninstall: uninstall.exe [/S] [/PURGE] (/PURGE also removes the token, the queue and the log).

Unicode true
!include "MUI2.nsh"
!include "x64.nsh"
!include "FileFunc.nsh"
!include "LogicLib.nsh"
!include "nsDialogs.nsh"

!macro Require NAME
  !ifndef ${NAME}
    !error "build with: makensis -DVERSION=… -DAGENT_EXE=… -DSMARTCTL_EXE=… -DSMARTCTL_LICENSE=… -DSMARTCTL_SOURCE=… -DOUT_FILE=… optralis-agent.nsi"
  !endif
!macroend
!insertmacro Require VERSION
!insertmacro Require AGENT_EXE
!insertmacro Require SMARTCTL_EXE
!insertmacro Require SMARTCTL_LICENSE
!insertmacro Require SMARTCTL_SOURCE
!insertmacro Require OUT_FILE

!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\OptralisAgent"

Name "Optralis agent ${VERSION}"
OutFile "${OUT_FILE}"
InstallDir "$PROGRAMFILES64\Optralis\Agent"
RequestExecutionLevel admin
SetCompressor /SOLID lzma
ManifestSupportedOS all
BrandingText "Optralis agent ${VERSION}"
VIProductVersion "${VERSION}.0"
VIAddVersionKey /LANG=0 "ProductName" "Optralis agent"
VIAddVersionKey /LANG=0 "FileDescription" "Optralis agent installer"
VIAddVersionKey /LANG=0 "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=0 "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=0 "LegalCopyright" "Optralis"

Var Server
Var Key
Var Labels
Var ServerField
Var KeyField
Var LabelsField

!define MUI_ABORTWARNING
Page custom SettingsPage SettingsLeave
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES

!insertmacro MUI_LANGUAGE "English"
!insertmacro MUI_LANGUAGE "French"

LangString SettingsTitle ${LANG_ENGLISH} "Connect to your Optralis server"
LangString SettingsTitle ${LANG_FRENCH} "Connexion à votre serveur Optralis"
LangString SettingsSubtitle ${LANG_ENGLISH} "The dashboard's Add machines page shows the address and a key."
LangString SettingsSubtitle ${LANG_FRENCH} "La page Ajouter des machines du tableau de bord donne l'adresse et une clé."
LangString ServerLabel ${LANG_ENGLISH} "Server address (https://…):"
LangString ServerLabel ${LANG_FRENCH} "Adresse du serveur (https://…) :"
LangString KeyLabel ${LANG_ENGLISH} "Enrollment key (oek_…):"
LangString KeyLabel ${LANG_FRENCH} "Clé d'inscription (oek_…) :"
LangString LabelsLabel ${LANG_ENGLISH} "Labels (optional, key=value separated by commas):"
LangString LabelsLabel ${LANG_FRENCH} "Étiquettes (facultatif, clé=valeur séparées par des virgules) :"
LangString SettingsHint ${LANG_ENGLISH} "The key is used once to enroll this machine and is not kept. The agent runs as the service OptralisAgent."
LangString SettingsHint ${LANG_FRENCH} "La clé sert une fois à inscrire cette machine et n'est pas conservée. L'agent tourne comme service OptralisAgent."
LangString NeedServer ${LANG_ENGLISH} "Give the server's address, starting with https:// (or http://)."
LangString NeedServer ${LANG_FRENCH} "Indiquez l'adresse du serveur, commençant par https:// (ou http://)."
LangString NeedKey ${LANG_ENGLISH} "Give an enrollment key."
LangString NeedKey ${LANG_FRENCH} "Indiquez une clé d'inscription."
LangString InstallFailed ${LANG_ENGLISH} "The agent could not enroll this machine or register its service; the details say why."
LangString InstallFailed ${LANG_FRENCH} "L'agent n'a pas pu inscrire cette machine ou enregistrer son service ; les détails disent pourquoi."
LangString Only64 ${LANG_ENGLISH} "The Optralis agent needs 64-bit Windows."
LangString Only64 ${LANG_FRENCH} "L'agent Optralis nécessite Windows 64 bits."

; Whether $0 starts with http:// or https://; sets $1 to 1 or 0.
!macro IsHttpUrl
  StrCpy $1 0
  StrCpy $2 $0 8
  StrCmp $2 "https://" 0 +2
    StrCpy $1 1
  StrCpy $2 $0 7
  StrCmp $2 "http://" 0 +2
    StrCpy $1 1
!macroend

; The value of /NAME= on the command line, up to the next " /" (so that URLs keep their
; slashes, which FileFunc's GetOptions would cut at) or inside double quotes; "" when absent.
Function GetOption
  Exch $1
  Push $0
  Push $2
  Push $3
  Push $4
  Push $5
  ${GetParameters} $0
  StrCpy $0 " $0"
  StrCpy $1 " $1"
  StrLen $3 $1
  StrCpy $2 0
  StrCpy $5 ""
  find:
    StrCpy $4 $0 $3 $2
    StrCmp $4 "" done
    StrCmp $4 $1 found
    IntOp $2 $2 + 1
    Goto find
  found:
    IntOp $2 $2 + $3
    StrCpy $0 $0 "" $2
    StrCpy $4 $0 1
    StrCmp $4 '"' quoted
    StrCpy $2 0
  plain:
    StrCpy $4 $0 2 $2
    StrCmp $4 " /" plain_end
    StrCpy $4 $0 1 $2
    StrCmp $4 "" plain_end
    IntOp $2 $2 + 1
    Goto plain
  plain_end:
    StrCpy $5 $0 $2
    Goto done
  quoted:
    StrCpy $0 $0 "" 1
    StrCpy $2 0
  quoted_loop:
    StrCpy $4 $0 1 $2
    StrCmp $4 '"' quoted_end
    StrCmp $4 "" quoted_end
    IntOp $2 $2 + 1
    Goto quoted_loop
  quoted_end:
    StrCpy $5 $0 $2
  done:
  StrCpy $1 $5
  Pop $5
  Pop $4
  Pop $3
  Pop $2
  Pop $0
  Exch $1
FunctionEnd

!macro GetOption NAME VAR
  Push "${NAME}"
  Call GetOption
  Pop ${VAR}
!macroend

Function .onInit
  ${IfNot} ${RunningX64}
    MessageBox MB_ICONSTOP "$(Only64)" /SD IDOK
    SetErrorLevel 2
    Quit
  ${EndIf}
  SetRegView 64
  !insertmacro GetOption "/SERVER=" $Server
  !insertmacro GetOption "/KEY=" $Key
  ; install.ps1 passes the key in the environment rather than on the command line.
  ${If} $Key == ""
    ReadEnvStr $Key OPTRALIS_ENROLL_KEY
  ${EndIf}
  !insertmacro GetOption "/LABELS=" $Labels
  ${If} ${Silent}
    StrCpy $0 $Server
    !insertmacro IsHttpUrl
    ${If} $1 == 0
    ${OrIf} $Key == ""
      SetErrorLevel 2
      Quit
    ${EndIf}
  ${EndIf}
FunctionEnd

Function SettingsPage
  !insertmacro MUI_HEADER_TEXT "$(SettingsTitle)" "$(SettingsSubtitle)"
  nsDialogs::Create 1018
  Pop $0
  ${NSD_CreateLabel} 0 0 100% 10u "$(ServerLabel)"
  Pop $0
  ${NSD_CreateText} 0 11u 100% 13u "$Server"
  Pop $ServerField
  ${NSD_CreateLabel} 0 30u 100% 10u "$(KeyLabel)"
  Pop $0
  ${NSD_CreatePassword} 0 41u 100% 13u "$Key"
  Pop $KeyField
  ${NSD_CreateLabel} 0 60u 100% 10u "$(LabelsLabel)"
  Pop $0
  ${NSD_CreateText} 0 71u 100% 13u "$Labels"
  Pop $LabelsField
  ${NSD_CreateLabel} 0 94u 100% 24u "$(SettingsHint)"
  Pop $0
  nsDialogs::Show
FunctionEnd

Function SettingsLeave
  ${NSD_GetText} $ServerField $Server
  ${NSD_GetText} $KeyField $Key
  ${NSD_GetText} $LabelsField $Labels
  StrCpy $0 $Server
  !insertmacro IsHttpUrl
  ${If} $1 == 0
    MessageBox MB_ICONEXCLAMATION "$(NeedServer)"
    Abort
  ${EndIf}
  ${If} $Key == ""
    MessageBox MB_ICONEXCLAMATION "$(NeedKey)"
    Abort
  ${EndIf}
FunctionEnd

Section "Agent"
  SetOutPath "$INSTDIR"
  File "/oname=optralis-agent.exe" "${AGENT_EXE}"
  File "/oname=smartctl.exe" "${SMARTCTL_EXE}"
  SetOutPath "$INSTDIR\licenses\smartmontools"
  File "/oname=COPYING.txt" "${SMARTCTL_LICENSE}"
  File "/oname=SOURCE.txt" "${SMARTCTL_SOURCE}"
  SetOutPath "$INSTDIR"
  WriteUninstaller "$INSTDIR\uninstall.exe"

  ; The key reaches the agent through its environment, never its command line (which other
  ; programs can read) nor the installer's details.
  System::Call 'kernel32::SetEnvironmentVariable(t "OPTRALIS_ENROLL_KEY", t "$Key") i'
  ${If} $Labels == ""
    nsExec::ExecToLog '"$INSTDIR\optralis-agent.exe" install-service --server "$Server"'
  ${Else}
    nsExec::ExecToLog '"$INSTDIR\optralis-agent.exe" install-service --server "$Server" --label "$Labels"'
  ${EndIf}
  Pop $0
  System::Call 'kernel32::SetEnvironmentVariable(t "OPTRALIS_ENROLL_KEY", p 0) i'
  ${If} $0 != 0
    ; Nothing half-installed is left: the files go again (the details keep the agent's words).
    SetOutPath "$TEMP"
    Call RemoveFiles
    MessageBox MB_ICONSTOP "$(InstallFailed)" /SD IDOK
    SetErrorLevel 3
    Abort
  ${EndIf}

  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayName" "Optralis agent"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "Publisher" "Optralis"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\optralis-agent.exe"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "EstimatedSize" $0
SectionEnd

!macro RemoveFiles UN
Function ${UN}RemoveFiles
  Delete "$INSTDIR\optralis-agent.exe"
  Delete "$INSTDIR\smartctl.exe"
  Delete "$INSTDIR\licenses\smartmontools\COPYING.txt"
  Delete "$INSTDIR\licenses\smartmontools\SOURCE.txt"
  RMDir "$INSTDIR\licenses\smartmontools"
  RMDir "$INSTDIR\licenses"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  RMDir "$PROGRAMFILES64\Optralis"
FunctionEnd
!macroend
!insertmacro RemoveFiles ""
!insertmacro RemoveFiles "un."

Function un.onInit
  SetRegView 64
FunctionEnd

Section "Uninstall"
  ${GetParameters} $R0
  ClearErrors
  ${GetOptions} $R0 "/PURGE" $R1
  ${If} ${Errors}
    nsExec::ExecToLog '"$INSTDIR\optralis-agent.exe" uninstall-service'
  ${Else}
    nsExec::ExecToLog '"$INSTDIR\optralis-agent.exe" uninstall-service --purge'
  ${EndIf}
  Pop $0
  Call un.RemoveFiles
  DeleteRegKey HKLM "${UNINSTALL_KEY}"
SectionEnd

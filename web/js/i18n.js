// Translations: French by default, English on request. Keys are English
// phrases' identifiers; t('key', {n: 3}) fills {n}. Error codes from the
// server ({error:{code}}) are translated under "err.<code>".

const fr = {
  'app.title': 'Plateau',
  'nav.agent': 'Poste agent', 'nav.supervisor': 'Supervision', 'nav.admin': 'Administration',
  'nav.users': 'Utilisateurs', 'nav.campaigns': 'Opérations', 'nav.lists': 'Fichiers',
  'nav.logout': 'Se déconnecter', 'lang.switch': 'English',
  'login.title': 'Connexion', 'login.user': 'Identifiant', 'login.password': 'Mot de passe',
  'login.submit': 'Se connecter', 'login.failed': 'Identifiant ou mot de passe incorrect.',
  'login.locked': 'Compte verrouillé temporairement après trop d\u2019échecs. Réessayez plus tard.',
  'pw.title': 'Changer de mot de passe', 'pw.why': 'Votre mot de passe doit être changé avant de continuer.',
  'pw.old': 'Mot de passe actuel', 'pw.new': 'Nouveau mot de passe', 'pw.again': 'Confirmer',
  'pw.mismatch': 'Les deux mots de passe diffèrent.', 'pw.submit': 'Enregistrer', 'pw.done': 'Mot de passe changé.',
  'state.logged_out': 'Déconnecté', 'state.connecting': 'Connexion du téléphone', 'state.available': 'Disponible',
  'state.reserved': 'Appel proposé', 'state.in_call': 'En communication', 'state.wrap_up': 'Post-appel',
  'state.pause': 'Pause', 'state.outbound': 'Appel sortant',
  'reason.login': 'connexion', 'reason.no_answer': 'appels manqués', 'reason.meal': 'repas',
  'reason.meeting': 'réunion', 'reason.training': 'formation', 'reason.after_call': 'après appel',
  'reason.technical': 'technique',
  'agent.phone': 'Mon téléphone', 'agent.phone_help': 'Numéro de poste (ex. 200) ou numéro à rappeler (+33…)',
  'agent.connect': 'Connecter mon téléphone', 'agent.disconnect': 'Me déconnecter',
  'agent.ready': 'Disponible', 'agent.pause': 'Pause', 'agent.back': 'Reprendre', 'agent.reason': 'Motif',
  'agent.no_call': 'Pas d\u2019appel en cours.', 'agent.call': 'Appel en cours', 'agent.number': 'Numéro',
  'agent.hangup': 'Raccrocher', 'agent.hold': 'Attente', 'agent.resume': 'Reprendre l\u2019appel',
  'agent.transfer': 'Transférer', 'agent.transfer_to': 'Transférer vers',
  'agent.contact': 'Fiche contact', 'agent.unknown_contact': 'Contact inconnu',
  'agent.history': 'Historique', 'agent.no_history': 'Aucune tentative précédente.',
  'agent.script': 'Script', 'agent.result': 'Résultat', 'agent.note': 'Note', 'agent.products': 'Produits',
  'agent.callback': 'Rappel', 'agent.callback_at': 'Date et heure du rappel', 'agent.callback_for': 'Pour',
  'agent.callback_me': 'moi', 'agent.callback_anyone': 'n\u2019importe quel agent',
  'agent.save_result': 'Enregistrer le résultat', 'agent.saved': 'Résultat enregistré.',
  'agent.my_callbacks': 'Mes rappels', 'agent.no_callbacks': 'Aucun rappel prévu.', 'agent.reschedule': 'Replanifier',
  'agent.recent': 'Mes 10 derniers appels', 'agent.no_recent': 'Aucun appel pour l\u2019instant.',
  'agent.manual_dial': 'Appel manuel', 'agent.dial': 'Appeler',
  'agent.preview': 'Mode preview', 'agent.preview_next': 'Contact suivant', 'agent.preview_skip': 'Passer',
  'agent.preview_none': 'Aucun contact à appeler.', 'agent.pending_pause': 'Pause demandée après l\u2019appel : {r}',
  'agent.shortcuts': 'Raccourcis : Alt+D disponible, Alt+P pause, Alt+H raccrocher, Alt+R résultat',
  'agent.offline': 'Connexion au serveur perdue, reconnexion…',
  'sup.agents': 'Agents', 'sup.all': 'Tous', 'sup.time_in_state': 'Depuis', 'sup.force': 'Forcer', 'sup.reason': 'Motif',
  'sup.calls': 'Appels en cours', 'sup.no_calls': 'Aucun appel en cours.', 'sup.queues': 'Files d\u2019attente',
  'sup.waiting': 'En attente', 'sup.longest': 'Attente max', 'sup.sl': 'Niveau de service',
  'sup.available': 'Disponibles', 'sup.campaigns': 'Opérations', 'sup.on': 'Active', 'sup.off': 'Arrêtée',
  'sup.pacing': 'Cadence du numéroteur', 'sup.no_agents': 'Aucun agent connecté.',
  'sup.forced': 'État forcé.', 'sup.queue': 'File', 'sup.agent': 'Agent', 'sup.state': 'État',
  'sup.ratio': 'Ratio', 'sup.abandon': 'Abandon', 'sup.dialing': 'En numérotation', 'sup.why': 'Pourquoi', 'sup.pacing_log': 'Dernières décisions', 'sup.no_pacing_log': 'Aucune décision enregistrée (seul le mode prédictif en enregistre).',
  'users.title': 'Utilisateurs', 'users.add': 'Ajouter', 'users.login': 'Identifiant', 'users.name': 'Nom',
  'users.role': 'Rôle', 'users.disabled': 'Désactivé', 'users.reset': 'Réinitialiser le mot de passe',
  'users.unlock': 'Déverrouiller', 'users.save': 'Enregistrer', 'users.group': 'Groupe',
  'users.campaigns': 'Opérations', 'users.temp_password': 'Mot de passe provisoire',
  'role.admin': 'Administrateur', 'role.supervisor': 'Superviseur', 'role.agent': 'Agent',
  'camp.title': 'Opérations', 'camp.new': 'Nouvelle opération', 'camp.step': 'Étape {n} sur {m}',
  'camp.next': 'Suivant', 'camp.prev': 'Précédent', 'camp.create': 'Créer l\u2019opération',
  'camp.name': 'Nom', 'camp.type': 'Type', 'camp.type.sale': 'Vente', 'camp.type.appointment': 'Prise de rendez-vous',
  'camp.type.survey': 'Enquête', 'camp.type.inbound': 'Réception d\u2019appels', 'camp.type.other': 'Autre',
  'camp.mode': 'Mode de numérotation', 'camp.mode.preview': 'Preview', 'camp.mode.progressive': 'Progressif',
  'camp.mode.predictive': 'Prédictif', 'camp.mode.manual': 'Manuel',
  'camp.ratio': 'Appels par agent disponible', 'camp.max_abandon': 'Taux d\u2019abandon max (%)',
  'camp.ring_timeout': 'Durée de sonnerie (s)', 'camp.max_attempts': 'Tentatives max par contact',
  'camp.retry_delay': 'Délai entre tentatives (min)', 'camp.amd': 'Détection de répondeur', 'camp.amd_fp': 'Faux positifs du détecteur (%)',
  'camp.caller_id': 'Numéro présenté',
  'camp.dispositions': 'Résultats', 'camp.disp_code': 'Code', 'camp.disp_label': 'Libellé',
  'camp.disp_meaning': 'Signification', 'camp.meaning.success': 'Succès (contact terminé)',
  'camp.meaning.failure': 'Échec (contact terminé)', 'camp.meaning.retry': 'À rappeler plus tard',
  'camp.meaning.callback': 'Rappel planifié', 'camp.meaning.dnc': 'Ne plus appeler',
  'field.first_name': 'Prénom', 'field.last_name': 'Nom', 'field.city': 'Ville', 'field.company': 'Société',
  'field.email': 'E-mail', 'field.postal_code': 'Code postal', 'field.address': 'Adresse', 'field.title': 'Civilité',
  'field.birth_date': 'Date de naissance', 'field.country': 'Pays',
  'camp.add_row': 'Ajouter', 'camp.remove': 'Retirer', 'camp.products': 'Produits', 'camp.price': 'Prix',
  'camp.agents': 'Agents affectés', 'camp.hours': 'Jours et horaires', 'camp.days': 'Jours',
  'camp.from': 'De', 'camp.to': 'À', 'camp.fields': 'Champs affichés à l\u2019agent',
  'camp.script': 'Script (variables : {{nom_du_champ}})', 'camp.hold_music': 'Musique d\u2019attente',
  'camp.message': 'Message aux appels abandonnés (aucun agent libre)', 'camp.media': 'Musique et messages',
  'camp.summary': 'Récapitulatif', 'camp.created': 'Opération créée.', 'camp.edit': 'Modifier', 'camp.save': 'Enregistrer', 'camp.saved': 'Opération enregistrée.', 'camp.none': 'Aucune opération.',
  'camp.start': 'Démarrer', 'camp.stop': 'Arrêter', 'camp.lists': 'Fichiers rattachés', 'camp.lists_default': 'celui de l’opération',
  'day.1': 'Lun', 'day.2': 'Mar', 'day.3': 'Mer', 'day.4': 'Jeu', 'day.5': 'Ven', 'day.6': 'Sam', 'day.0': 'Dim',
  'lists.title': 'Fichiers de contacts', 'lists.upload': 'Importer un fichier CSV', 'lists.file': 'Fichier',
  'lists.preview': 'Aperçu', 'lists.mapping': 'Correspondance des colonnes', 'lists.column': 'Colonne',
  'lists.becomes': 'Devient', 'lists.ignore': 'Ignorer', 'lists.phone': 'Téléphone', 'lists.field': 'Champ',
  'lists.target': 'Fichier cible', 'lists.new_list': 'Nom du nouveau fichier', 'lists.country': 'Pays par défaut',
  'lists.dedup': 'Dédoublonnage', 'lists.dedup.0': 'aucun', 'lists.dedup.1': 'dans le fichier',
  'lists.dedup.2': 'dans l\u2019opération', 'lists.dedup.3': 'partout', 'lists.campaign': 'Rattacher à l\u2019opération',
  'lists.import': 'Importer', 'lists.progress': 'Import en cours', 'lists.cancel': 'Arrêter l\u2019import', 'lists.report': 'Rapport',
  'lists.download_report': 'Télécharger les lignes rejetées', 'lists.state': 'État des fichiers',
  'lists.total': 'Total', 'lists.due': 'À appeler', 'lists.encoding': 'Encodage', 'lists.separator': 'Séparateur',
  'lists.none': 'Aucun fichier.', 'lists.name': 'Nom',
  'lstat.1': 'Disponibles', 'lstat.2': 'Réservés', 'lstat.3': 'Rappels', 'lstat.4': 'Terminés',
  'lstat.5': 'Échecs', 'lstat.6': 'Liste rouge', 'lstat.7': 'Invalides',
  'imp.rows_read': 'Lignes lues', 'imp.imported': 'Importées', 'imp.duplicates': 'Doublons',
  'imp.invalid_phones': 'Numéros invalides', 'imp.dnc_refused': 'Refusées (liste rouge)',
  'imp.malformed': 'Illisibles', 'imp.rejected': 'Rejetées', 'imp.done': 'Import terminé.',
  'imp.cancelled': 'Import annulé.', 'imp.failed': 'Import en échec : {e}',
  'common.cancel': 'Annuler', 'common.save': 'Enregistrer', 'common.close': 'Fermer', 'common.yes': 'Oui',
  'common.no': 'Non', 'common.loading': 'Chargement…', 'common.error': 'Erreur', 'common.actions': 'Actions',
  'err.invalid_state': 'Impossible dans l\u2019état actuel.', 'err.invalid_argument': 'Valeur refusée.',
  'err.not_found': 'Introuvable.', 'err.forbidden': 'Accès refusé.', 'err.unauthenticated': 'Session expirée.',
  'err.conflict': 'Déjà existant.', 'err.unavailable': 'Service indisponible, réessayez.',
  'err.internal': 'Erreur du serveur.', 'err.network': 'Serveur injoignable.', 'err.csrf': 'Requête refusée.',
};

const en = {
  'app.title': 'Plateau',
  'nav.agent': 'Agent desk', 'nav.supervisor': 'Supervision', 'nav.admin': 'Administration',
  'nav.users': 'Users', 'nav.campaigns': 'Campaigns', 'nav.lists': 'Lists',
  'nav.logout': 'Log out', 'lang.switch': 'Français',
  'login.title': 'Log in', 'login.user': 'Login', 'login.password': 'Password', 'login.submit': 'Log in',
  'login.failed': 'Wrong login or password.', 'login.locked': 'Account locked for a while after too many failures. Try again later.',
  'pw.title': 'Change password', 'pw.why': 'Your password must be changed before you continue.',
  'pw.old': 'Current password', 'pw.new': 'New password', 'pw.again': 'Confirm',
  'pw.mismatch': 'The two passwords differ.', 'pw.submit': 'Save', 'pw.done': 'Password changed.',
  'state.logged_out': 'Logged out', 'state.connecting': 'Connecting phone', 'state.available': 'Available',
  'state.reserved': 'Call offered', 'state.in_call': 'In call', 'state.wrap_up': 'Wrap-up',
  'state.pause': 'Pause', 'state.outbound': 'Outbound call',
  'reason.login': 'login', 'reason.no_answer': 'missed calls', 'reason.meal': 'meal', 'reason.meeting': 'meeting',
  'reason.training': 'training', 'reason.after_call': 'after call', 'reason.technical': 'technical',
  'agent.phone': 'My phone', 'agent.phone_help': 'Extension (e.g. 200) or a number to call me on (+33…)',
  'agent.connect': 'Connect my phone', 'agent.disconnect': 'Log me out',
  'agent.ready': 'Available', 'agent.pause': 'Pause', 'agent.back': 'Back', 'agent.reason': 'Reason',
  'agent.no_call': 'No call in progress.', 'agent.call': 'Current call', 'agent.number': 'Number',
  'agent.hangup': 'Hang up', 'agent.hold': 'Hold', 'agent.resume': 'Resume call', 'agent.transfer': 'Transfer',
  'agent.transfer_to': 'Transfer to', 'agent.contact': 'Contact', 'agent.unknown_contact': 'Unknown contact',
  'agent.history': 'History', 'agent.no_history': 'No earlier attempt.', 'agent.script': 'Script',
  'agent.result': 'Result', 'agent.note': 'Note', 'agent.products': 'Products', 'agent.callback': 'Callback',
  'agent.callback_at': 'Callback date and time', 'agent.callback_for': 'For', 'agent.callback_me': 'me',
  'agent.callback_anyone': 'any agent', 'agent.save_result': 'Save result', 'agent.saved': 'Result saved.',
  'agent.my_callbacks': 'My callbacks', 'agent.no_callbacks': 'No callback planned.', 'agent.reschedule': 'Reschedule',
  'agent.recent': 'My last 10 calls', 'agent.no_recent': 'No call yet.', 'agent.manual_dial': 'Manual dial',
  'agent.dial': 'Dial', 'agent.preview': 'Preview mode', 'agent.preview_next': 'Next contact',
  'agent.preview_skip': 'Skip', 'agent.preview_none': 'No contact to call.',
  'agent.pending_pause': 'Pause asked for after the call: {r}',
  'agent.shortcuts': 'Shortcuts: Alt+D available, Alt+P pause, Alt+H hang up, Alt+R result',
  'agent.offline': 'Connection to the server lost, reconnecting…',
  'sup.agents': 'Agents', 'sup.all': 'All', 'sup.time_in_state': 'For', 'sup.force': 'Force', 'sup.reason': 'Reason',
  'sup.calls': 'Calls in progress', 'sup.no_calls': 'No call in progress.', 'sup.queues': 'Queues',
  'sup.waiting': 'Waiting', 'sup.longest': 'Longest wait', 'sup.sl': 'Service level', 'sup.available': 'Available',
  'sup.campaigns': 'Campaigns', 'sup.on': 'On', 'sup.off': 'Off', 'sup.pacing': 'Dialer pacing',
  'sup.no_agents': 'No agent logged in.', 'sup.forced': 'State forced.', 'sup.queue': 'Queue',
  'sup.agent': 'Agent', 'sup.state': 'State', 'sup.ratio': 'Ratio', 'sup.abandon': 'Abandon', 'sup.why': 'Why', 'sup.pacing_log': 'Last decisions', 'sup.no_pacing_log': 'No decision recorded (only predictive mode records them).',
  'sup.dialing': 'Dialling',
  'users.title': 'Users', 'users.add': 'Add', 'users.login': 'Login', 'users.name': 'Name', 'users.role': 'Role',
  'users.disabled': 'Disabled', 'users.reset': 'Reset password', 'users.unlock': 'Unlock', 'users.save': 'Save',
  'users.group': 'Group', 'users.campaigns': 'Campaigns', 'users.temp_password': 'Temporary password',
  'role.admin': 'Administrator', 'role.supervisor': 'Supervisor', 'role.agent': 'Agent',
  'camp.title': 'Campaigns', 'camp.new': 'New campaign', 'camp.step': 'Step {n} of {m}', 'camp.next': 'Next',
  'camp.prev': 'Back', 'camp.create': 'Create campaign', 'camp.name': 'Name', 'camp.type': 'Type',
  'camp.type.sale': 'Sale', 'camp.type.appointment': 'Appointment setting', 'camp.type.survey': 'Survey',
  'camp.type.inbound': 'Inbound', 'camp.type.other': 'Other', 'camp.mode': 'Dial mode',
  'camp.mode.preview': 'Preview', 'camp.mode.progressive': 'Progressive', 'camp.mode.predictive': 'Predictive',
  'camp.mode.manual': 'Manual', 'camp.ratio': 'Calls per available agent', 'camp.max_abandon': 'Max abandon rate (%)',
  'camp.ring_timeout': 'Ring time (s)', 'camp.max_attempts': 'Max attempts per contact',
  'camp.retry_delay': 'Delay between attempts (min)', 'camp.amd': 'Answering-machine detection', 'camp.amd_fp': 'Detector false positives (%)',
  'camp.caller_id': 'Caller ID', 'camp.dispositions': 'Results', 'camp.disp_code': 'Code',
  'camp.disp_label': 'Label', 'camp.disp_meaning': 'Meaning', 'camp.meaning.success': 'Success (contact done)',
  'camp.meaning.failure': 'Failure (contact done)', 'camp.meaning.retry': 'Try again later',
  'camp.meaning.callback': 'Callback planned', 'camp.meaning.dnc': 'Do not call',
  'field.first_name': 'First name', 'field.last_name': 'Last name', 'field.city': 'City', 'field.company': 'Company',
  'field.email': 'Email', 'field.postal_code': 'Postal code', 'field.address': 'Address', 'field.title': 'Title',
  'field.birth_date': 'Birth date', 'field.country': 'Country',
  'camp.add_row': 'Add', 'camp.remove': 'Remove', 'camp.products': 'Products', 'camp.price': 'Price',
  'camp.agents': 'Assigned agents', 'camp.hours': 'Days and hours', 'camp.days': 'Days', 'camp.from': 'From',
  'camp.to': 'To', 'camp.fields': 'Fields shown to agents', 'camp.script': 'Script (variables: {{field_name}})',
  'camp.hold_music': 'Hold music', 'camp.message': 'Message to abandoned calls (no agent free)', 'camp.media': 'Music and messages',
  'camp.summary': 'Summary',
  'camp.created': 'Campaign created.', 'camp.edit': 'Edit', 'camp.save': 'Save', 'camp.saved': 'Campaign saved.', 'camp.none': 'No campaign.', 'camp.start': 'Start', 'camp.stop': 'Stop',
  'camp.lists': 'Attached lists', 'camp.lists_default': 'the campaign’s own',
  'day.1': 'Mon', 'day.2': 'Tue', 'day.3': 'Wed', 'day.4': 'Thu', 'day.5': 'Fri', 'day.6': 'Sat', 'day.0': 'Sun',
  'lists.title': 'Contact lists', 'lists.upload': 'Import a CSV file', 'lists.file': 'File', 'lists.preview': 'Preview',
  'lists.mapping': 'Column mapping', 'lists.column': 'Column', 'lists.becomes': 'Becomes', 'lists.ignore': 'Ignore',
  'lists.phone': 'Phone', 'lists.field': 'Field', 'lists.target': 'Target list', 'lists.new_list': 'New list name',
  'lists.country': 'Default country', 'lists.dedup': 'De-duplication', 'lists.dedup.0': 'none',
  'lists.dedup.1': 'within the list', 'lists.dedup.2': 'within the campaign', 'lists.dedup.3': 'everywhere',
  'lists.campaign': 'Attach to campaign', 'lists.import': 'Import', 'lists.progress': 'Import in progress', 'lists.cancel': 'Stop the import',
  'lists.report': 'Report', 'lists.download_report': 'Download rejected rows', 'lists.state': 'Lists state',
  'lists.total': 'Total', 'lists.due': 'Due now', 'lists.encoding': 'Encoding', 'lists.separator': 'Separator',
  'lists.none': 'No list.', 'lists.name': 'Name',
  'lstat.1': 'Available', 'lstat.2': 'Reserved', 'lstat.3': 'Callbacks', 'lstat.4': 'Done', 'lstat.5': 'Failed',
  'lstat.6': 'Do not call', 'lstat.7': 'Invalid',
  'imp.rows_read': 'Rows read', 'imp.imported': 'Imported', 'imp.duplicates': 'Duplicates',
  'imp.invalid_phones': 'Invalid numbers', 'imp.dnc_refused': 'Refused (do not call)', 'imp.malformed': 'Unreadable',
  'imp.rejected': 'Rejected', 'imp.done': 'Import finished.', 'imp.cancelled': 'Import cancelled.',
  'imp.failed': 'Import failed: {e}',
  'common.cancel': 'Cancel', 'common.save': 'Save', 'common.close': 'Close', 'common.yes': 'Yes', 'common.no': 'No',
  'common.loading': 'Loading…', 'common.error': 'Error', 'common.actions': 'Actions',
  'err.invalid_state': 'Not possible in the current state.', 'err.invalid_argument': 'Value refused.',
  'err.not_found': 'Not found.', 'err.forbidden': 'Access denied.', 'err.unauthenticated': 'Session expired.',
  'err.conflict': 'Already exists.', 'err.unavailable': 'Service unavailable, try again.',
  'err.internal': 'Server error.', 'err.network': 'Server unreachable.', 'err.csrf': 'Request refused.',
};

const dicts = { fr, en };
let lang = localStorage.getItem('plateau.lang') || 'fr';
if (!dicts[lang]) lang = 'fr';

export function getLang() { return lang; }

export function setLang(l) {
  if (!dicts[l]) return;
  lang = l;
  localStorage.setItem('plateau.lang', l);
  document.documentElement.lang = l;
}

export function t(key, vars) {
  let s = dicts[lang][key] ?? fr[key] ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}

// A server error ({error:{code,message}}) in the UI language.
export function tErr(e) {
  const code = e?.code || 'internal';
  const k = 'err.' + code;
  return dicts[lang][k] ? t(k) : (e?.message || t('err.internal'));
}

// "pause" + "meal" → "Pause (repas)"
export function tReason(reason) {
  return dicts[lang]['reason.' + reason] ? t('reason.' + reason) : reason;
}

export function tState(state, reason) {
  const s = t('state.' + state);
  // Only a pause has a reason worth reading (a call's is its reference).
  if (!reason || state !== 'pause') return s;
  return `${s} (${tReason(reason)})`;
}

export function fmtDuration(ms) {
  if (!(ms >= 0)) ms = 0;
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const p = (n) => String(n).padStart(2, '0');
  return h ? `${h}:${p(m)}:${p(r)}` : `${p(m)}:${p(r)}`;
}

export function fmtDateTime(ms) {
  if (!ms) return '';
  return new Date(ms).toLocaleString(lang === 'fr' ? 'fr-FR' : 'en-GB',
    { dateStyle: 'short', timeStyle: 'short' });
}

document.documentElement.lang = lang;

//! The dashboard's two languages: English and Dutch. Every label and message of the pages is a key of
//! `TEXTS` (the English text itself) with its Dutch text; the engine's issue sentences stay English. A
//! page is in the language of the `lang` cookie, else of the browser's `Accept-Language`, else English.

use axum::http::{HeaderMap, header};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    Nl,
}

pub const LANG_COOKIE: &str = "loket_sync_lang";

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Nl => "nl",
        }
    }

    pub fn parse(text: &str) -> Option<Lang> {
        match text {
            "en" => Some(Lang::En),
            "nl" => Some(Lang::Nl),
            _ => None,
        }
    }

    /// The language of a request: the cookie, else the browser's first choice of the two.
    pub fn of(headers: &HeaderMap) -> Lang {
        if let Some(lang) = super::cookie(headers, LANG_COOKIE).and_then(|value| Lang::parse(&value)) {
            return lang;
        }
        let accepted = headers.get(header::ACCEPT_LANGUAGE).and_then(|value| value.to_str().ok()).unwrap_or("");
        for choice in accepted.split(',') {
            let tag = choice.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            if tag.starts_with("nl") {
                return Lang::Nl;
            }
            if tag.starts_with("en") {
                return Lang::En;
            }
        }
        Lang::En
    }

    /// The other language (for the switch in the header).
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Nl,
            Lang::Nl => Lang::En,
        }
    }

    /// The text of `key` (its English text) in this language.
    pub fn t(self, key: &'static str) -> &'static str {
        match self {
            Lang::En => key,
            Lang::Nl => TEXTS.iter().find(|(en, _)| *en == key).map_or(key, |(_, nl)| nl),
        }
    }
}

/// Every text of the pages: English, Dutch.
#[rustfmt::skip]
pub const TEXTS: &[(&str, &str)] = &[
    ("Employers", "Werkgevers"),
    ("History", "Historie"),
    ("Users", "Gebruikers"),
    ("Sync rules", "Synchronisatieregels"),
    ("Log out", "Uitloggen"),
    ("Log in", "Inloggen"),
    ("Name", "Naam"),
    ("Password", "Wachtwoord"),
    ("Skip to the content", "Naar de inhoud"),
    ("Signed in as", "Ingelogd als"),
    ("Nederlands", "Nederlands"),
    ("English", "English"),
    ("Language", "Taal"),
    ("Employer", "Werkgever"),
    ("State", "Status"),
    ("Last run", "Laatste run"),
    ("Next run", "Volgende run"),
    ("tried again after a failure", "opnieuw geprobeerd na een fout"),
    ("Employees", "Medewerkers"),
    ("Changes", "Wijzigingen"),
    ("Issues", "Meldingen"),
    ("in sync", "in sync"),
    ("changes waiting for approval", "wijzigingen wachten op goedkeuring"),
    ("warnings", "waarschuwingen"),
    ("failing", "mislukt"),
    ("needs Loket login", "Loket-login nodig"),
    ("not planned yet", "nog geen plan"),
    ("last plan rejected", "laatste plan afgewezen"),
    ("manual only", "alleen handmatig"),
    ("never", "nooit"),
    ("No employers yet: an admin adds one below, or imports a configuration with `loket-sync connections import`.", "Nog geen werkgevers: een beheerder voegt er hieronder een toe, of importeert een configuratie met `loket-sync connections import`."),
    ("Plan now", "Nu plannen"),
    ("Plans", "Plannen"),
    ("Plan", "Plan"),
    ("Status", "Status"),
    ("Made", "Gemaakt"),
    ("Asked by", "Aangevraagd door"),
    ("schedule", "planning"),
    ("Writes", "Schrijfacties"),
    ("Open", "Openen"),
    ("Mapping", "Koppeling"),
    ("Connect", "Verbinden"),
    ("Runs", "Runs"),
    ("pending", "wacht op goedkeuring"),
    ("in_sync", "in sync"),
    ("applied", "doorgevoerd"),
    ("rejected", "afgewezen"),
    ("stale", "verouderd"),
    ("Run date", "Rundatum"),
    ("Approvals", "Goedkeuringen"),
    ("approved", "goedgekeurd"),
    ("approve", "goedgekeurd"),
    ("reject", "afgewezen"),
    ("Comment", "Toelichting"),
    ("Approve", "Goedkeuren"),
    ("Reject", "Afwijzen"),
    ("Approve and apply this plan", "Dit plan goedkeuren en doorvoeren"),
    ("Download CSV (alignment report)", "CSV downloaden (aansluitrapport)"),
    ("Filter", "Filter"),
    ("Show", "Toon"),
    ("everything", "alles"),
    ("only errors", "alleen fouten"),
    ("only destructive changes", "alleen verwijderingen"),
    ("all employees", "alle medewerkers"),
    ("Apply filter", "Filter toepassen"),
    ("Change", "Wijziging"),
    ("Rule", "Regel"),
    ("Withheld", "Tegengehouden"),
    ("Withheld: not written, and why", "Tegengehouden: niet geschreven, en waarom"),
    ("Changed in Loket since the last sync", "Gewijzigd in Loket sinds de vorige synchronisatie"),
    ("Issues of the whole run", "Meldingen van de hele run"),
    ("Mass-change guard", "Bescherming tegen massawijzigingen"),
    ("Managed records", "Beheerde records"),
    ("Destructive writes", "Verwijderingen"),
    ("Employees with deletes", "Medewerkers met verwijderingen"),
    ("Employees with a lower wage", "Medewerkers met een lager loon"),
    ("The guard refuses this plan: it changes more than the thresholds allow.", "De bescherming weigert dit plan: het wijzigt meer dan de drempels toestaan."),
    ("overridden", "overschreven"),
    ("within the thresholds", "binnen de drempels"),
    ("error", "fout"),
    ("warning", "waarschuwing"),
    ("Severity", "Ernst"),
    ("Code", "Code"),
    ("Message", "Bericht"),
    ("What to do", "Wat te doen"),
    ("Employees concerned", "Betrokken medewerkers"),
    ("Nothing matches the filter.", "Niets voldoet aan het filter."),
    ("This plan writes nothing: Loket is in line with Personio.", "Dit plan schrijft niets: Loket is in lijn met Personio."),
    ("Configuration errors: nothing was read or planned", "Configuratiefouten: er is niets gelezen of gepland"),
    ("This plan is decided; nothing more can be approved or rejected.", "Over dit plan is besloten; er valt niets meer goed te keuren of af te wijzen."),
    ("You are a viewer: you can see this plan, an operator approves it.", "U bent kijker: u ziet dit plan, een operator keurt het goed."),
    ("This connection asks for two approvers (four eyes), neither the one who asked for the plan.", "Deze koppeling vraagt twee goedkeurders (vier ogen), geen van beiden degene die het plan aanvroeg."),
    ("The plan was applied.", "Het plan is doorgevoerd."),
    ("The plan was rejected: nothing is written.", "Het plan is afgewezen: er wordt niets geschreven."),
    ("Your approval is recorded; another approver is needed.", "Uw goedkeuring is vastgelegd; er is nog een goedkeurder nodig."),
    ("Personio or Loket changed since this plan was made: nothing was written, and a new plan waits instead.", "Personio of Loket is gewijzigd sinds dit plan is gemaakt: er is niets geschreven, een nieuw plan wacht in plaats daarvan."),
    ("A new plan was made.", "Er is een nieuw plan gemaakt."),
    ("Run", "Run"),
    ("Outcome", "Uitkomst"),
    ("Who", "Wie"),
    ("Started", "Gestart"),
    ("Planned", "Gepland"),
    ("Sent", "Verzonden"),
    ("Errors", "Fouten"),
    ("Warnings", "Waarschuwingen"),
    ("Audit log", "Auditlog"),
    ("Writes to Loket", "Schrijfacties naar Loket"),
    ("Employee number", "Personeelsnummer"),
    ("Search", "Zoeken"),
    ("When", "Wanneer"),
    ("Action", "Actie"),
    ("Subject", "Onderwerp"),
    ("Before", "Voor"),
    ("After", "Na"),
    ("Loket's answer", "Antwoord van Loket"),
    ("Phase", "Fase"),
    ("Description", "Omschrijving"),
    ("No runs yet.", "Nog geen runs."),
    ("Nothing recorded yet.", "Nog niets vastgelegd."),
    ("Issues of run", "Meldingen van run"),
    ("No issues in this run.", "Geen meldingen in deze run."),
    ("Start date", "Startdatum"),
    ("compensation_start_date: the first day of a Loket payroll period", "compensation_start_date: de eerste dag van een Loket-verloningsperiode"),
    ("Sync the salary (basic wage)", "Salaris synchroniseren (basisloon)"),
    ("Sync recurring compensations", "Terugkerende vergoedingen synchroniseren"),
    ("Sync one-time compensations", "Eenmalige vergoedingen synchroniseren"),
    ("Months ahead (horizon)", "Maanden vooruit (horizon)"),
    ("Employee-number attribute", "Attribuut personeelsnummer"),
    ("Income-number attribute", "Attribuut inkomstenverhoudingsnummer"),
    ("suggested by check", "voorgesteld door check"),
    ("Personio type", "Personio-type"),
    ("Benefit component (payment)", "Looncomponent vergoeding (betaling)"),
    ("Deduction component", "Looncomponent inhouding"),
    ("none", "geen"),
    ("Add a mapping", "Koppeling toevoegen"),
    ("Leave the Personio type empty to remove a mapping.", "Laat het Personio-type leeg om een koppeling te verwijderen."),
    ("Guard: largest share of managed records deleted", "Bescherming: grootste deel beheerde records dat verwijderd mag worden"),
    ("Guard: largest share of employees with a lower wage", "Bescherming: grootste deel medewerkers met een lager loon"),
    ("Mode", "Modus"),
    ("review: a person approves every plan", "review: een mens keurt elk plan goed"),
    ("auto: apply plans that delete nothing", "auto: plannen zonder verwijderingen direct doorvoeren"),
    ("Approvals needed", "Benodigde goedkeuringen"),
    ("one", "één"),
    ("two (four eyes)", "twee (vier ogen)"),
    ("Schedule (cron, Europe/Amsterdam; empty: manual only)", "Planning (cron, Europe/Amsterdam; leeg: alleen handmatig)"),
    ("Save", "Opslaan"),
    ("Saved.", "Opgeslagen."),
    ("Saved; not checked against Personio and Loket yet:", "Opgeslagen; nog niet gecontroleerd tegen Personio en Loket:"),
    ("Nothing was saved: fix the fields marked below.", "Er is niets opgeslagen: herstel de hieronder gemarkeerde velden."),
    ("Only an admin changes the mapping.", "Alleen een beheerder wijzigt de koppeling."),
    ("The components are those of Loket's catalogue a mapping may use (K4).", "De looncomponenten zijn die uit de catalogus van Loket die een koppeling mag gebruiken (K4)."),
    ("Loket's catalogue and Personio's attributes cannot be read now:", "De catalogus van Loket en de attributen van Personio kunnen nu niet gelezen worden:"),
    ("Attribute", "Attribuut"),
    ("Persons with a value", "Personen met een waarde"),
    ("Equal to a Loket employee number", "Gelijk aan een Loket-personeelsnummer"),
    ("Personio credentials", "Personio-gegevens"),
    ("Personio client secret", "Personio client secret"),
    ("Loket client secret", "Loket client secret"),
    ("Write-only: a stored secret is never shown. Leave a field empty to keep it.", "Alleen schrijven: een opgeslagen geheim wordt nooit getoond. Laat een veld leeg om het te behouden."),
    ("Save credentials", "Gegevens opslaan"),
    ("Credentials changed:", "Gegevens gewijzigd:"),
    ("Nothing to change: both fields were empty.", "Niets te wijzigen: beide velden waren leeg."),
    ("Loket login", "Loket-login"),
    ("Logged in: loket-sync holds valid tokens.", "Ingelogd: loket-sync heeft geldige tokens."),
    ("Loket needs a login again: its tokens were refused or none were given.", "Loket heeft opnieuw een login nodig: de tokens zijn geweigerd of nooit gegeven."),
    ("Log in to Loket", "Inloggen bij Loket"),
    ("Logged in to Loket.", "Ingelogd bij Loket."),
    ("Add a user", "Gebruiker toevoegen"),
    ("Role", "Rol"),
    ("viewer", "kijker"),
    ("operator", "operator"),
    ("admin", "beheerder"),
    ("Created", "Aangemaakt"),
    ("User added.", "Gebruiker toegevoegd."),
    ("Add an employer", "Werkgever toevoegen"),
    ("Connection name", "Naam van de koppeling"),
    ("Configuration (loket-sync.toml)", "Configuratie (loket-sync.toml)"),
    ("Add", "Toevoegen"),
    ("Employer added.", "Werkgever toegevoegd."),
    ("The name or password is wrong.", "De naam of het wachtwoord is onjuist."),
    ("Too many attempts: wait a few minutes and try again.", "Te veel pogingen: wacht enkele minuten en probeer het opnieuw."),
    ("Refused", "Geweigerd"),
    ("Not found", "Niet gevonden"),
    ("Something went wrong", "Er ging iets mis"),
    ("Back to the employers", "Terug naar de werkgevers"),
    ("The form has expired or did not come from this dashboard: reload the page and try again.", "Het formulier is verlopen of kwam niet van dit dashboard: laad de pagina opnieuw en probeer het nog eens."),
    ("Your session has ended: log in again.", "Uw sessie is verlopen: log opnieuw in."),
    ("Your role does not allow this.", "Uw rol staat dit niet toe."),
    ("There is no such page.", "Deze pagina bestaat niet."),
    ("The service failed; its log says why.", "De service is mislukt; het log zegt waarom."),
    ("The plan cannot be made:", "Het plan kan niet gemaakt worden:"),
    ("Details", "Details"),
    ("The rules the sync follows; every change in a plan names the rule that asks for it.", "De regels die de synchronisatie volgt; elke wijziging in een plan noemt de regel die erom vraagt."),
    ("yes", "ja"),
    ("no", "nee"),
    ("Apply a plan that crosses the guard (journaled with your name)", "Een plan doorvoeren dat de bescherming overschrijdt (vastgelegd met uw naam)"),
    ("Allow this connection access?", "Toegang geven aan deze koppeling?"),
];

/// What to do about an issue of each code (the issue's own sentence says it for the one case).
pub fn what_to_do(lang: Lang, code: &str) -> &'static str {
    let (en, nl) = match code {
        "salary_gap" => (
            "Give the employee a salary in Personio for every day of the employment from the start date; the gap is not filled by guessing.",
            "Geef de medewerker in Personio een salaris voor elke dag van het dienstverband vanaf de startdatum; het gat wordt niet gegokt.",
        ),
        "unsupported_interval" => (
            "Use an interval Loket can pay (monthly, yearly, or per payroll period) for this compensation in Personio.",
            "Gebruik in Personio een interval dat Loket kan betalen (maandelijks, jaarlijks of per verloningsperiode).",
        ),
        "currency_not_eur" => (
            "Enter the amount in euros in Personio; Loket pays in euros only.",
            "Voer het bedrag in euro's in Personio in; Loket betaalt alleen in euro's.",
        ),
        "currency_mixed_period" => (
            "Give the values of one period one currency (euros) in Personio.",
            "Geef de waarden van één periode in Personio één valuta (euro's).",
        ),
        "non_monetary" => (
            "This type is not money (km, hours): it is never synced; remove its mapping or enter it in Loket by hand.",
            "Dit type is geen geld (km, uren): het wordt nooit gesynchroniseerd; verwijder de koppeling of voer het in Loket handmatig in.",
        ),
        "no_component_for_sign" => (
            "Map a deduction component for negative values (or a benefit component for positive ones).",
            "Koppel een inhoudingscomponent voor negatieve bedragen (of een vergoedingscomponent voor positieve).",
        ),
        "value_out_of_range" => (
            "Correct the amount in Personio: Loket does not take it.",
            "Corrigeer het bedrag in Personio: Loket accepteert het niet.",
        ),
        "no_payroll_period" => (
            "Open the payroll periods of that date in Loket, or move the payment date in Personio.",
            "Open de verloningsperiodes van die datum in Loket, of verplaats de betaaldatum in Personio.",
        ),
        "period_closed" => (
            "The period's payroll is approved: correct it in Loket by hand, or in a later period.",
            "De verloning van de periode is goedgekeurd: corrigeer het handmatig in Loket, of in een latere periode.",
        ),
        "employment_terminated" => (
            "Nothing is written after the employment's end; check the end date in Loket.",
            "Na het einde van het dienstverband wordt niets geschreven; controleer de einddatum in Loket.",
        ),
        "employee_number_missing" => (
            "Fill the employee-number attribute of this person in Personio.",
            "Vul in Personio het attribuut personeelsnummer van deze persoon.",
        ),
        "employment_not_found" => (
            "Check the employee and income numbers in Personio against the employment in Loket.",
            "Vergelijk het personeels- en inkomstenverhoudingsnummer in Personio met het dienstverband in Loket.",
        ),
        "employment_ambiguous" => (
            "Give the person a unique income number, so that exactly one Loket employment matches.",
            "Geef de persoon een uniek inkomstenverhoudingsnummer, zodat precies één dienstverband in Loket past.",
        ),
        "salary_scale_overwritten" => (
            "The wage had a pay scale in Loket: check the employee's scale after the sync.",
            "Het loon had een loonschaal in Loket: controleer de schaal van de medewerker na de synchronisatie.",
        ),
        "wage_after_horizon" => (
            "Nothing after the horizon is touched; it is synced when it comes within the horizon.",
            "Na de horizon wordt niets aangeraakt; het wordt gesynchroniseerd zodra het binnen de horizon valt.",
        ),
        "read_failed" => (
            "A read of Personio or Loket failed: check the connection and plan again.",
            "Lezen uit Personio of Loket is mislukt: controleer de verbinding en plan opnieuw.",
        ),
        "blast_radius_exceeded" => (
            "Check the plan: it changes more than the guard allows. If it is right, an operator plans it again allowing mass changes.",
            "Controleer het plan: het wijzigt meer dan de bescherming toestaat. Klopt het, dan plant een operator opnieuw met massawijzigingen toegestaan.",
        ),
        "year_not_open" => (
            "Open the year in Loket; the record is written once it is open.",
            "Open het jaar in Loket; het record wordt geschreven zodra het open is.",
        ),
        "period_data_elsewhere" => (
            "Another record of the period holds the value: remove it there, or leave it and the sync leaves it too.",
            "Een ander record van de periode bevat de waarde: verwijder het daar, of laat het staan, dan laat de synchronisatie het ook.",
        ),
        "attribute_not_found" => (
            "Choose the employee-number attribute on the mapping page (check suggests one).",
            "Kies op de koppelingspagina het attribuut personeelsnummer (check stelt er een voor).",
        ),
        "wage_not_full_time" => (
            "The wage is rewritten as the full-time wage; check the part-time factor in Loket.",
            "Het loon wordt herschreven als voltijdloon; controleer de deeltijdfactor in Loket.",
        ),
        "write_failed" => (
            "Loket refused the write: read its answer in the history and plan again.",
            "Loket weigerde de schrijfactie: lees het antwoord in de historie en plan opnieuw.",
        ),
        "write_unconfirmed" => (
            "Loket accepted the writes but still differs; the next sync tries again.",
            "Loket accepteerde de schrijfacties maar wijkt nog af; de volgende synchronisatie probeert het opnieuw.",
        ),
        _ => ("Read the issue's message.", "Lees het bericht van de melding."),
    };
    match lang {
        Lang::En => en,
        Lang::Nl => nl,
    }
}

// Dataset B for the local stack: 10,000 camera sites generated on first start. Names read like real
// addresses ("Lisbon · Rua Augusta 12") so the dashboard's search, tables and top lists feel like the
// real thing. DuckDB builds them in one statement, so even a million locations take about a second.
import type { DuckDBConnection } from "@duckdb/node-api";
import { sqlString } from "../runner/database.ts";

export const LOCATION_COUNT = 10_000;
export const LOCATION_SEED = 7;

/** Is `oid` one of the locations a Dataset B of `count` rows holds (the simulator's known ones)? */
export function isKnownLocation(oid: number | bigint, count = LOCATION_COUNT): boolean {
  const value = typeof oid === "bigint" ? oid : Number.isInteger(oid) ? BigInt(oid) : -1n;
  return value >= 1n && value <= BigInt(count);
}

/** Real streets of each city, in the city's own spelling. */
export const STREETS: Readonly<Record<string, readonly string[]>> = {
  Lisbon: ["Rua Augusta", "Avenida da Liberdade", "Rua do Ouro", "Rua da Prata", "Rua Garrett", "Avenida Almirante Reis", "Rua de São Bento", "Calçada do Combro"],
  Porto: ["Rua de Santa Catarina", "Avenida dos Aliados", "Rua das Flores", "Rua de Cedofeita", "Rua do Almada", "Rua de Miguel Bombarda", "Avenida da Boavista", "Rua de Costa Cabral"],
  Madrid: ["Gran Vía", "Calle de Alcalá", "Calle Mayor", "Paseo del Prado", "Calle de Serrano", "Calle de Atocha", "Calle de Fuencarral", "Paseo de la Castellana"],
  Barcelona: ["La Rambla", "Passeig de Gràcia", "Carrer de Balmes", "Avinguda Diagonal", "Carrer de Pelai", "Via Laietana", "Carrer d'Aragó", "Carrer de Sants"],
  Seville: ["Calle Sierpes", "Avenida de la Constitución", "Calle Tetuán", "Calle Feria", "Calle San Jacinto", "Calle Betis", "Calle Asunción", "Avenida de Menéndez Pelayo"],
  Paris: ["Rue de Rivoli", "Boulevard Haussmann", "Rue du Faubourg Saint-Antoine", "Avenue des Champs-Élysées", "Rue de la Roquette", "Boulevard Saint-Germain", "Rue Oberkampf", "Rue de Vaugirard"],
  Lyon: ["Rue de la République", "Rue Victor Hugo", "Cours Lafayette", "Rue Mercière", "Quai Saint-Antoine", "Avenue Jean Jaurès", "Rue Garibaldi", "Cours Gambetta"],
  Marseille: ["La Canebière", "Rue de Rome", "Rue Paradis", "Boulevard Longchamp", "Cours Julien", "Rue Saint-Ferréol", "Boulevard Baille", "Avenue du Prado"],
  Brussels: ["Rue Neuve", "Boulevard Anspach", "Avenue Louise", "Chaussée d'Ixelles", "Rue Haute", "Rue Royale", "Boulevard du Midi", "Rue de la Loi"],
  Amsterdam: ["Damrak", "Kalverstraat", "Rokin", "Leidsestraat", "Utrechtsestraat", "Ferdinand Bolstraat", "Haarlemmerstraat", "Van Woustraat"],
  Rotterdam: ["Coolsingel", "Lijnbaan", "Witte de Withstraat", "Nieuwe Binnenweg", "Blaak", "Weena", "Meent", "Westblaak"],
  Berlin: ["Friedrichstraße", "Karl-Marx-Allee", "Kurfürstendamm", "Oranienstraße", "Torstraße", "Schönhauser Allee", "Sonnenallee", "Unter den Linden"],
  Hamburg: ["Mönckebergstraße", "Jungfernstieg", "Reeperbahn", "Spitalerstraße", "Steindamm", "Osterstraße", "Eppendorfer Weg", "Schanzenstraße"],
  Munich: ["Kaufingerstraße", "Leopoldstraße", "Sendlinger Straße", "Maximilianstraße", "Theresienstraße", "Sonnenstraße", "Rosenheimer Straße", "Lindwurmstraße"],
  Vienna: ["Mariahilfer Straße", "Kärntner Straße", "Landstraßer Hauptstraße", "Favoritenstraße", "Praterstraße", "Graben", "Josefstädter Straße", "Wiedner Hauptstraße"],
  Zürich: ["Bahnhofstrasse", "Langstrasse", "Limmatquai", "Badenerstrasse", "Niederdorfstrasse", "Seefeldstrasse", "Universitätstrasse", "Hardturmstrasse"],
  Milan: ["Corso Buenos Aires", "Via Torino", "Corso Vittorio Emanuele II", "Via Dante", "Corso di Porta Ticinese", "Via Montenapoleone", "Viale Monza", "Via Paolo Sarpi"],
  Rome: ["Via del Corso", "Via Nazionale", "Via Cola di Rienzo", "Via Appia Nuova", "Via Tuscolana", "Via dei Fori Imperiali", "Via Merulana", "Viale di Trastevere"],
  Naples: ["Via Toledo", "Via Chiaia", "Via San Biagio dei Librai", "Corso Umberto I", "Via dei Tribunali", "Via Foria", "Via Partenope", "Via Duomo"],
  Turin: ["Via Roma", "Via Garibaldi", "Via Po", "Corso Vittorio Emanuele II", "Via Nizza", "Corso Francia", "Via Lagrange", "Corso Regina Margherita"],
  Copenhagen: ["Nørrebrogade", "Vesterbrogade", "Istedgade", "Østerbrogade", "Amagerbrogade", "Frederiksberggade", "Gothersgade", "Købmagergade"],
  Stockholm: ["Drottninggatan", "Götgatan", "Sveavägen", "Hornsgatan", "Kungsgatan", "Hamngatan", "Odengatan", "Birger Jarlsgatan"],
  Oslo: ["Karl Johans gate", "Storgata", "Grensen", "Bogstadveien", "Thorvald Meyers gate", "Markveien", "Akersgata", "Kirkeveien"],
  Helsinki: ["Mannerheimintie", "Aleksanterinkatu", "Pohjoisesplanadi", "Hämeentie", "Bulevardi", "Fredrikinkatu", "Iso Roobertinkatu", "Mechelininkatu"],
  Dublin: ["O'Connell Street", "Grafton Street", "Dame Street", "Capel Street", "Camden Street", "Thomas Street", "Talbot Street", "Baggot Street"],
  Edinburgh: ["Princes Street", "High Street", "George Street", "Leith Walk", "Rose Street", "Lothian Road", "Nicolson Street", "Great Junction Street"],
  Prague: ["Národní", "Na Příkopě", "Vinohradská", "Karlova", "Dlouhá", "Pařížská", "Spálená", "Vodičkova"],
  Warsaw: ["Nowy Świat", "Marszałkowska", "Krakowskie Przedmieście", "Aleje Jerozolimskie", "Chmielna", "Puławska", "Żelazna", "Świętokrzyska"],
  Kraków: ["Floriańska", "Grodzka", "Długa", "Karmelicka", "Starowiślna", "Dietla", "Szewska", "Józefińska"],
  Budapest: ["Andrássy út", "Váci utca", "Rákóczi út", "Király utca", "Üllői út", "Bartók Béla út", "Dohány utca", "Népszínház utca"],
  Athens: ["Ermou", "Stadiou", "Panepistimiou", "Akadimias", "Patission", "Athinas", "Aiolou", "Mitropoleos"],
  Vilnius: ["Gedimino prospektas", "Pilies gatvė", "Vilniaus gatvė", "Didžioji gatvė", "Konstitucijos prospektas", "Savanorių prospektas", "Totorių gatvė", "Žirmūnų gatvė"],
};

const STREET_COUNT = Object.values(STREETS).reduce((sum, streets) => sum + streets.length, 0);

/**
 * Writes Dataset B as Parquet: oids 1..count, each a unique "City · Street Number", the same for the
 * same seed. Returns the number of rows.
 */
export async function writeLocations(connection: DuckDBConnection, file: string, count = LOCATION_COUNT, seed = LOCATION_SEED): Promise<number> {
  if (!Number.isSafeInteger(count) || count < 1 || count > 10_000_000) throw new RangeError(`count must be an integer from 1 to 10,000,000, got ${count}`);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative integer, got ${seed}`);
  // House numbers 1..n with n large enough that count addresses use at most half the combinations.
  const numbers = Math.max(120, Math.ceil((2 * count) / STREET_COUNT));
  const streets = Object.entries(STREETS)
    .flatMap(([city, names]) => names.map((street) => [city, street] as const))
    .map(([city, street], index) => `(${index}, ${sqlString(city)}, ${sqlString(street)})`)
    .join(", ");
  const offset = Number((BigInt(seed) * 2_654_435_761n) % 4_294_967_296n);
  // Addresses are shuffled by a 32-bit integer hash of their index (bijective, so no ties) rather
  // than DuckDB's hash() or random(): the same seed gives the same file on every DuckDB version.
  const mix = (x: string) => `((xor(${x}, ${x} >> 16)) * 73244475) % 4294967296`;
  await connection.run(`copy (
      with streets as (
        select * from (values ${streets}) s(street_index, city, street)
      ),
      addresses as (
        select city || ' · ' || street || ' ' || n.range::varchar as name,
          (street_index * ${numbers} + n.range - 1 + ${offset}) % 4294967296 as h0
        from streets cross join range(1, ${numbers + 1}) n
      ),
      shuffled as (
        select name, ${mix(mix(mix("h0")))} as key from addresses
      )
      select row_number() over (order by key)::bigint as geographical_location_oid, name as geographical_location
      from shuffled
      order by key
      limit ${count}
    ) to ${sqlString(file)} (format parquet)`);
  return count;
}

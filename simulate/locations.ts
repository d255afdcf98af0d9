// Dataset B for the local stack: 10,000 named places, generated on first start. Names read like real
// camera sites ("Lisbon · Rua Augusta 12") so the dashboard's search and tables feel like the real thing.
import type { DuckDBConnection } from "@duckdb/node-api";
import { sqlString } from "../runner/database.ts";

export const LOCATION_COUNT = 10_000;

const CITIES = [
  "Amsterdam", "Athens", "Barcelona", "Berlin", "Bordeaux", "Bratislava", "Brussels", "Bucharest", "Budapest",
  "Copenhagen", "Dublin", "Edinburgh", "Florence", "Gdańsk", "Geneva", "Ghent", "Hamburg", "Helsinki", "Kraków",
  "Lisbon", "Ljubljana", "Lyon", "Madrid", "Marseille", "Milan", "Munich", "Naples", "Oslo", "Paris", "Porto",
  "Prague", "Riga", "Rome", "Rotterdam", "Seville", "Stockholm", "Tallinn", "Turin", "Valencia", "Vienna",
  "Vilnius", "Warsaw", "Zagreb", "Zürich",
];

const PLACES = [
  "Central Station", "Harbour Gate", "Market Square", "Old Bridge", "North Car Park", "South Car Park",
  "Airport Road", "University Campus", "Riverside Walk", "Main Street", "Cathedral Square", "Tram Depot",
  "City Hall", "Ring Road", "Stadium East", "Stadium West", "Park Entrance", "Bus Terminal", "Ferry Pier",
  "Museum Quarter", "Industrial Estate", "Hospital Drive", "Shopping Arcade", "Canal Lock", "Tunnel Portal",
];

/** Writes Dataset B as Parquet (oids 1..count, unique names); returns the number of rows. */
export async function writeLocations(connection: DuckDBConnection, file: string, count = LOCATION_COUNT): Promise<number> {
  if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
  const list = (values: string[]) => `[${values.map(sqlString).join(", ")}]`;
  // City and place cycle at coprime lengths; the number makes the rest unique (oid // combinations).
  await connection.run(`copy (
      select
        range::bigint as geographical_location_oid,
        ${list(CITIES)}[1 + range % ${CITIES.length}] || ' · ' || ${list(PLACES)}[1 + range % ${PLACES.length}] || ' ' || (1 + range // ${CITIES.length * PLACES.length})::varchar as geographical_location
      from range(1, ${count + 1})
    ) to ${sqlString(file)} (format parquet)`);
  return count;
}

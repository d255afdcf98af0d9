// Flag parsers shared by the `sightline` commands: each turns text into a value or an error commander
// prints next to the flag's name.
import { InvalidArgumentError } from "commander";

export function positiveInteger(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new InvalidArgumentError("expected a positive integer");
  return value;
}

export function nonNegativeInteger(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new InvalidArgumentError("expected an integer of 0 or more");
  return value;
}

export function positiveNumber(text: string): number {
  const value = Number(text);
  if (!(value > 0 && Number.isFinite(value))) throw new InvalidArgumentError("expected a positive number");
  return value;
}

/** A share such as a duplicate rate: 0 to 1. */
export function share(text: string): number {
  const value = Number(text);
  if (!(value >= 0 && value <= 1)) throw new InvalidArgumentError("expected a share from 0 to 1, e.g. 0.03 for 3%");
  return value;
}

export function httpUrl(text: string): string {
  try {
    const parsed = new URL(text);
    if (parsed.protocol === "http:" || parsed.protocol === "https:") return text;
  } catch {
    // reported below
  }
  throw new InvalidArgumentError("expected an http(s) URL such as http://localhost:8080");
}

// Bearer tokens compared in constant time, so response timing reveals nothing about a token.
import { createHash, timingSafeEqual } from "node:crypto";

const digest = (text: string) => createHash("sha256").update(text).digest();

export function tokenChecker(tokens: string[]): (authorization: string | undefined) => boolean {
  // Hashing first gives equal-length buffers, as timingSafeEqual requires, whatever the input length.
  const known = tokens.map(digest);
  return (authorization) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    if (!match) return false;
    const presented = digest(match[1]!);
    let ok = false;
    for (const token of known) ok = timingSafeEqual(token, presented) || ok;
    return ok;
  };
}

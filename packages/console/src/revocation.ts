// How far a revocation reaches, said the same way in every dialog that revokes tokens. Latchkey's own
// APIs check revocation on every request; @latchkey/resource follows the revocation feed, which brings
// it a revocation within a second.

/** Who refuses a revoked token, and how soon: completes "Every token issued … is revoked:". */
export const REVOCATION_REACH = "Latchkey's own APIs refuse it at once, and APIs that use @latchkey/resource within a second";

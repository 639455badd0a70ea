"""Sending planned digests to Discord, exactly once: the nonces that make a resend harmless
(`nonces`, pure), and the deliverer that posts, reads Discord's answers and keeps the ledger
(`deliverer`, the Discord edge). Import from the modules: the nonces load no Discord client."""

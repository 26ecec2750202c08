-- CreateIndex
CREATE INDEX "deliveries_digest_id_state_idx" ON "deliveries"("digest_id", "state");


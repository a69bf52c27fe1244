-- The dashboard (issue 14): an approval or a rejection may say why, and that is kept with it.
ALTER TABLE approvals ADD COLUMN comment TEXT;

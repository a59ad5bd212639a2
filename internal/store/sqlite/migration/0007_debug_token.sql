-- 0007_debug_token: find a program by its debug credential (调试凭证), which
-- is all the SDK half of debug mode is opened with.
CREATE INDEX debug_program_token ON debug_program (token) WHERE token <> '';

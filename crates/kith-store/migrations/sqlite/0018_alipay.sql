-- Alipay payouts (kith-app rails/alipay): the member names the Alipay account (支付宝账号,
-- a phone number or e-mail, ALIPAY_LOGON_ID) and the real name it is registered to when
-- withdrawing; an approved withdrawal is transferred there when the platform has Alipay
-- credentials. Both empty: the sandbox pays it out, as before.
ALTER TABLE withdrawals ADD COLUMN payee_account TEXT NOT NULL DEFAULT '';
ALTER TABLE withdrawals ADD COLUMN payee_name TEXT NOT NULL DEFAULT '';

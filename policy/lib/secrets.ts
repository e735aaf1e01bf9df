/** Names that suggest a secret value. */
export const SECRET_NAME =
  /(PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE[_-]?KEY|API[_-]?KEY|ACCESS[_-]?KEY|CREDENTIAL)/i;

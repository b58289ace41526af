import { GRAPHQL_ERROR_CODES } from '@shop/platform';
import { formatGatewayError } from '@shop/supergraph';

describe("the gateway's client-safe codes agree with the platform's list", () => {
  it.each(GRAPHQL_ERROR_CODES.filter((code) => code !== 'INTERNAL_SERVER_ERROR'))(
    'passes %s through with its message',
    (code) => {
      expect(formatGatewayError({ message: 'what happened', extensions: { code } })).toEqual({
        message: 'what happened',
        extensions: { code },
      });
    },
  );

  it('masks INTERNAL_SERVER_ERROR', () => {
    expect(
      formatGatewayError({ message: 'stack', extensions: { code: 'INTERNAL_SERVER_ERROR' } }),
    ).toEqual({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  });
});

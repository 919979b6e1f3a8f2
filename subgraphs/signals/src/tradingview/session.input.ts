import { Field, InputType } from 'type-graphql';

/** Validated by the service (session.cookies.ts), whose messages never quote a cookie value. */
@InputType('SetTradingViewSessionInput')
export class SetTradingViewSessionInput {
  @Field(() => String, {
    description:
      'TradingView\'s sessionid and sessionid_sign cookies from a signed-in browser: a Cookie header ("sessionid=…; sessionid_sign=…") or a JSON cookie list ([{"name","value",…}]). Other cookies are ignored.',
  })
  cookies!: string;

  @Field(() => String, { nullable: true, description: 'The chart (id or tradingview.com/chart/<id>/ URL) shot when an alert names none. Omitted: unchanged; "": none.' })
  defaultChartId?: string | null;
}

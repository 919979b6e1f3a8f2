import { Args, Ctx, FieldResolver, Mutation, Resolver, Root } from 'type-graphql';
import type { RequestContext } from '../../../kit/src';
import { Product } from '../product/product.type';
import { PageArgs } from '../shared/pagination';
import { User } from '../user/user.type';
import { AddReviewArgs } from './review.input';
import { addReview, listReviews } from './review.service';
import { Review, ReviewConnection } from './review.type';

@Resolver(() => Review)
export class ReviewResolver {
  @Mutation(() => Review, { description: 'Signed-in users; one review per user and product.' })
  addReview(@Args(() => AddReviewArgs) args: AddReviewArgs, @Ctx() ctx: RequestContext): Promise<Review> {
    return addReview(ctx, args);
  }

  @FieldResolver(() => User, { nullable: true, description: 'Resolved by the users subgraph through the router.' })
  author(@Root() review: Review): User {
    return { id: review.authorId };
  }
}

@Resolver(() => Product)
export class ProductReviewsResolver {
  @FieldResolver(() => ReviewConnection, { description: 'Newest first.' })
  reviews(@Root() product: Product, @Args(() => PageArgs) page: PageArgs, @Ctx() ctx: RequestContext): Promise<ReviewConnection> {
    return listReviews(ctx, product, page);
  }
}

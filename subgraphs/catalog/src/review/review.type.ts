import { Field, ID, Int, ObjectType } from 'type-graphql';
import { PageInfo } from '../shared/connection.type';
import type { ReviewEntity } from './review.entity';

/** `author` is a field resolver returning a User reference. */
@ObjectType('Review')
export class Review {
  @Field(() => ID)
  id!: string;

  @Field(() => Int, { description: '1 to 5.' })
  rating!: number;

  @Field(() => String)
  text!: string;

  @Field(() => ID)
  authorId!: string;

  @Field(() => Date)
  createdAt!: Date;

  productId!: string;
}

@ObjectType('ReviewEdge')
export class ReviewEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => Review)
  node!: Review;
}

@ObjectType('ReviewConnection')
export class ReviewConnection {
  @Field(() => [ReviewEdge])
  edges!: ReviewEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}

export const toReview = (entity: ReviewEntity): Review => ({
  id: entity.id,
  rating: entity.rating,
  text: entity.text,
  authorId: entity.authorId,
  createdAt: entity.createdAt,
  productId: entity.productId,
});
